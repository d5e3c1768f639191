import { eventually, FixtureRecord, generateTelemetry, totalsOf } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';
import { OtlpReceiver } from './otlp-receiver';

jest.setTimeout(300_000);

const lines = (records: FixtureRecord[]) => records.map((r) => `${r.domain}\t${JSON.stringify(r)}`);

// Offsets are never skipped silently, on both Kafka clients: records deleted (Kafka's
// DeleteRecords, as retention would) before ingest read them are a recorded gap.
describe.each(['librdkafka', 'kafkajs'])('ingest on %s records the offsets it never read', (client) => {
  const h = new IngestHarness();
  const receiver = new OtlpReceiver();
  beforeAll(() => h.setUp(2));
  afterAll(async () => {
    await h.tearDown();
    receiver.server.close();
  });

  it('records deleted before ingest read them: a gap row, a log line, a metric, exact totals for the rest', async () => {
    // Event time rises through each partition's share, so nothing here is late.
    const records = generateTelemetry(8_000, { seed: 31 });
    const [before0, before1, after0, after1] = [records.slice(0, 2_000), records.slice(2_000, 4_000), records.slice(4_000, 7_000), records.slice(7_000)];
    const env = { INGEST_KAFKA_CLIENT: client, OTEL_EXPORTER_OTLP_ENDPOINT: await receiver.listen(), OTEL_METRIC_EXPORT_INTERVAL: '1000' };

    await h.produceLines(lines(before0), 'lz4', h.topic, ['-p', '0']);
    await h.produceLines(lines(before1), 'lz4', h.topic, ['-p', '1']);
    const first = h.startIngest(env);
    await eventually(() => h.totals(), (t) => t.accepted >= 4_000);
    await first.kill('SIGTERM');

    // While ingest is down: more records, and partition 0's offsets 2,000..3,499 deleted unread.
    await h.produceLines(lines(after0), 'lz4', h.topic, ['-p', '0']);
    await h.produceLines(lines(after1), 'lz4', h.topic, ['-p', '1']);
    await h.deleteRecordsBefore(0, 3_500);

    const second = h.startIngest(env);
    const remaining = [...before0, ...before1, ...after0.slice(1_500), ...after1];
    const totals = await eventually(() => h.totals(), (t) => t.accepted >= remaining.length);
    const expected = totalsOf(remaining);
    expect(totals).toMatchObject({ requests: expected.requests, errors: expected.errors, bytes: expected.bytes, accepted: remaining.length, rejected: 0, late: 0 });
    expect(await h.countBy('domain')).toEqual(expected.byDomain);

    expect(await h.offsetGaps()).toEqual([{ partition: 0, from: 2_000, to: 3_499, count: 1_500 }]);
    const logged = await second.waitForLog((l) => String(l.msg).startsWith('offsets skipped'));
    expect(logged).toMatchObject({ partition: 0, from: '2000', to: '3499', count: '1500' });
    await receiver.received('/v1/metrics', 'ingest.offsets.skipped');
  });
});
