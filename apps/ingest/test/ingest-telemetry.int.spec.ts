import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { eventually, generateTelemetry } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';

jest.setTimeout(120_000);

/** A minimal OTLP/HTTP receiver: records what the exporter posts, per path. */
class OtlpReceiver {
  private readonly bodies: Array<{ path: string; body: Buffer }> = [];
  private waiters: Array<{ path: string; needle: string; resolve: () => void }> = [];
  readonly server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const entry = { path: req.url ?? '', body: Buffer.concat(chunks) };
      this.bodies.push(entry);
      this.waiters = this.waiters.filter((w) => (this.matches(entry, w) ? (w.resolve(), false) : true));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });

  private matches(entry: { path: string; body: Buffer }, w: { path: string; needle: string }): boolean {
    return entry.path === w.path && entry.body.includes(w.needle);
  }

  /** Resolves when a request to `path` whose body contains `needle` arrives (or has arrived). */
  received(path: string, needle: string): Promise<void> {
    if (this.bodies.some((b) => this.matches(b, { path, needle }))) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ path, needle, resolve }));
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

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
