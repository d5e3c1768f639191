import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { createLogger } from '@shardcast/platform';
import { DesiredCapacity } from '../src/drivers/pool-driver';
import { WebhookHeaders, WebhookPoolDriver } from '../src/drivers/webhook-pool-driver';

/** What the receiver saw of one request. */
interface Received {
  idempotencyKey: string | undefined;
  version: string | undefined;
  body: DesiredCapacity;
}

/**
 * The webhook driver against a real local HTTP server, whose answer per request is scripted:
 * a status, or `hang` (no answer: the driver's timeout must fire).
 */
describe('WebhookPoolDriver against a real HTTP server', () => {
  let server: Server;
  let url: string;
  let script: Array<number | 'hang'> = [];
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const logger = createLogger('webhook-test', 'silent');

  const desired = (version: number, domain = 'shop.example.com'): DesiredCapacity => ({
    domain,
    planId: `plan-${domain}-${version}`,
    version,
    regions: [{ region: 'eu-central-1', desired: { cpuCores: 4, memoryGiB: 8, egressMbps: 100 } }],
  });
  const driver = (maxAttempts: number, timeoutMs = 2_000) => new WebhookPoolDriver({ url, timeoutMs, maxAttempts, backoffMs: 20 }, logger);

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        received.push({ idempotencyKey: req.headers[WebhookHeaders.idempotencyKey] as string, version: req.headers[WebhookHeaders.planVersion] as string, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        const next = script.shift() ?? 200;
        if (next === 'hang') return void hanging.push(res);
        res.writeHead(next, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/capacity`;
  });
  beforeEach(() => {
    received.length = 0;
    script = [];
  });
  afterAll(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('succeeds after 5xx answers and a timeout, with the same idempotency key on every attempt', async () => {
    script = [503, 'hang', 500, 200];
    const outcome = await driver(5, 300).deliver(desired(3));
    expect(outcome).toEqual({ delivered: true, attempts: 4, status: 200 });
    expect(received).toHaveLength(4);
    expect(new Set(received.map((r) => r.idempotencyKey))).toEqual(new Set(['plan-shop.example.com-3:3']));
    expect(received.every((r) => r.version === '3')).toBe(true);
    expect(received[0].body).toEqual(desired(3));
  });

  it('gives up after the configured attempts, saying why', async () => {
    script = [502, 502, 502];
    expect(await driver(3).deliver(desired(4))).toEqual({ delivered: false, attempts: 3, status: 502, reason: 'HTTP 502' });
    script = ['hang', 'hang'];
    const timedOut = await driver(2, 200).deliver(desired(5));
    expect(timedOut).toMatchObject({ delivered: false, attempts: 2, status: null, reason: 'no answer within 200 ms' });
  });

  it('does not retry a 4xx the receiver means (but does a 429), and a connection refused is retried then reported', async () => {
    script = [400];
    expect(await driver(5).deliver(desired(6))).toEqual({ delivered: false, attempts: 1, status: 400, reason: 'HTTP 400' });
    script = [429, 200];
    expect(await driver(5).deliver(desired(7))).toEqual({ delivered: true, attempts: 2, status: 200 });
    const nowhere = new WebhookPoolDriver({ url: 'http://127.0.0.1:1/capacity', timeoutMs: 500, maxAttempts: 2, backoffMs: 10 }, logger);
    expect(await nowhere.deliver(desired(8))).toMatchObject({ delivered: false, attempts: 2, status: null });
  });

  it('a newer plan for the domain supersedes an older one still being retried', async () => {
    script = [503, 503, 503, 200];
    const d = new WebhookPoolDriver({ url, timeoutMs: 2_000, maxAttempts: 10, backoffMs: 100 }, logger);
    const older = d.deliver(desired(9));
    // Once the older one has been refused once, the newer one arrives.
    while (received.length < 1) await new Promise((r) => setImmediate(r));
    const newer = d.deliver(desired(10));
    const [o, n] = await Promise.all([older, newer]);
    expect(n.delivered).toBe(true);
    expect(o).toMatchObject({ delivered: false, reason: 'superseded by a newer plan' });
    expect(received.filter((r) => r.version === '10').length).toBeGreaterThanOrEqual(1);
  });
});
