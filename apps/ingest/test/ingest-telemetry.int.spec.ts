import { eventually, generateTelemetry } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';
import { OtlpReceiver } from './otlp-receiver';

jest.setTimeout(120_000);

describe('ingest exports OpenTelemetry traces and metrics over OTLP', () => {
  const h = new IngestHarness();
  const receiver = new OtlpReceiver();
  beforeAll(() => h.setUp(1));
  afterAll(async () => {
    await h.tearDown();
    receiver.server.close();
  });

  it('names spans after the work and counts accepted records', async () => {
    const endpoint = await receiver.listen();
    const ingest = h.startIngest({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_METRIC_EXPORT_INTERVAL: '1000' });
    await ingest.waitForMessage('ingest consuming');
    const records = generateTelemetry(50, { seed: 3 });
    await h.produceLines(records.map((r) => `${r.domain}\t${JSON.stringify(r)}`), 'gzip');
    await Promise.all([receiver.received('/v1/traces', 'ingest.flush'), receiver.received('/v1/traces', 'shardcast-ingest')]);
    await receiver.received('/v1/metrics', 'ingest.records.accepted');
    expect((await eventually(() => h.totals(), (t) => t.accepted >= 50)).accepted).toBe(50);
  });
});
