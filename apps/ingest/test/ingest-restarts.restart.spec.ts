import { Client } from 'pg';
import { eventually, FixtureRecord, generateTelemetry, PrivateStack, readyzStatus, totalsOf } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';

/**
 * The restart tier (*.restart.spec.ts, run serially after the other tiers): ingest keeps running
 * while its broker is stopped for 30 s, or its PostgreSQL restarted, mid-stream, and recovers by
 * itself with exact totals. On a broker and a PostgreSQL cluster of the test's own
 * (PrivateStack), so no other test sees the outage.
 */
jest.setTimeout(300_000);

const OUTAGE_MS = 30_000;
/** Small fetches: many small transactions, so the outage lands mid-stream and mid-transaction. */
const SMALL_FETCHES = { INGEST_MAX_BYTES_PER_PARTITION: '16384', INGEST_PARTITIONS_CONCURRENCY: '2', INGEST_MAX_BATCH_MESSAGES: '500', INGEST_SESSION_TIMEOUT_MS: '6000' };
/** Every producer in tests is idempotent: a retried batch never lands behind later ones. */
const IDEMPOTENT = ['-X', 'enable.idempotence=true', '-X', 'batch.num.messages=200'];
const FIRST = 40_000;
const SECOND = 10_000;
const MINUTE = 60_000;

let stack: PrivateStack;

beforeAll(async () => {
  stack = await PrivateStack.start();
}, 240_000);

afterAll(async () => {
  await stack?.stop();
}, 120_000);

/**
 * A stream in two parts; the second starts a minute after the first ends, in event time: a
 * partition idle for INGEST_IDLE_CLOSE_MS closes its open buckets, and records of a closed minute
 * are late by design, so the second part must not reuse the first part's last minute.
 */
function twoPartStream(seed: number): { first: FixtureRecord[]; second: FixtureRecord[] } {
  const start = Date.UTC(2014, 3, 10);
  const first = generateTelemetry(FIRST, { seed, startMs: start });
  const firstEnd = first[first.length - 1].timestamp;
  const second = generateTelemetry(SECOND, { seed: seed + 1, startMs: (Math.floor(firstEnd / MINUTE) + 2) * MINUTE });
  return { first, second };
}

const lines = (records: FixtureRecord[]) => records.map((r) => `${r.domain}\t${JSON.stringify(r)}`);
/** Records stored either way: counted, or rejected (late ones included). */
const seen = (t: { accepted: number; rejected: number }) => t.accepted + t.rejected;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The harness's own connection dies with a PostgreSQL restart: read through a new one after it. */
async function reconnect(h: IngestHarness): Promise<void> {
  const old = h.db;
  h.db = new Client({ connectionString: h.env.DATABASE_URL });
  h.db.on('error', () => undefined); // its errors reach the queries that hit them
  await h.db.connect();
  await old.end().catch(() => undefined);
}

describe.each(['librdkafka', 'kafkajs'])('ingest on %s recovers by itself', (client) => {
  const env = { ...SMALL_FETCHES, INGEST_KAFKA_CLIENT: client };

  it('from its broker stopped for 30 s mid-stream, with exact totals and ready again', async () => {
    const h = new IngestHarness(stack.env);
    await h.setUp();
    try {
      const { first, second } = twoPartStream(21);
      const expected = totalsOf([...first, ...second]);
      await h.produceLines(lines(first), 'lz4', h.topic, IDEMPOTENT);
      // The outage outlasts the idle-close window (as a longer one does the default 60 s): a
      // partition starved by an unreachable broker is not idle, its backlog must not turn late.
      const ingest = h.startIngest({ ...env, INGEST_IDLE_CLOSE_MS: '20000' });
      await ingest.waitForLog((l) => l.msg === 'ingest consuming' && l.kafkaClient === client);
      const port = Number((await ingest.waitForMessage('ingest ready')).port);
      expect(await readyzStatus(port)).toBe(200);
      await eventually(() => h.totals(), (t) => seen(t) >= 2_000);

      const beforeOutage = await h.totals();
      await stack.kafka.down();
      const stoppedAt = Date.now();
      const atOutage = await h.totals();
      // Not ready while its broker is away.
      await eventually(() => readyzStatus(port), (s) => s === 503, OUTAGE_MS, 500);
      await sleep(OUTAGE_MS - (Date.now() - stoppedAt));
      await stack.kafka.up();

      await h.produceLines(lines(second), 'lz4', h.topic, IDEMPOTENT);
      const totals = await eventually(() => h.totals(), (t) => seen(t) >= FIRST + SECOND, 180_000, 500);
      expect(totals).toEqual({ requests: expected.requests, errors: expected.errors, bytes: expected.bytes, accepted: FIRST + SECOND, rejected: 0, late: 0 });
      expect(await h.countBy('domain')).toEqual(expected.byDomain);
      expect(await h.countBy('region')).toEqual(expected.byRegion);
      await eventually(() => readyzStatus(port), (s) => s === 200, 120_000, 500);
      // The same process all along: nobody restarted it.
      expect(ingest.logLines().filter((l) => l.msg === 'ingest consuming')).toHaveLength(1);
      console.info(`[restart] ${client}: broker stopping with ${seen(beforeOutage)}, stopped with ${seen(atOutage)} of ${FIRST} first-part records stored`);
    } finally {
      await h.tearDown();
    }
  });

  it('from its PostgreSQL restarted mid-stream, with exact totals and ready again', async () => {
    const h = new IngestHarness(stack.env);
    await h.setUp();
    try {
      const { first, second } = twoPartStream(31);
      const expected = totalsOf([...first, ...second]);
      await h.produceLines(lines(first), 'lz4', h.topic, IDEMPOTENT);
      const ingest = h.startIngest(env);
      await ingest.waitForLog((l) => l.msg === 'ingest consuming' && l.kafkaClient === client);
      const port = Number((await ingest.waitForMessage('ingest ready')).port);
      await eventually(() => h.totals(), (t) => seen(t) >= 2_000);

      // The rest of the stream arrives while PostgreSQL restarts (a fast shutdown: every connection cut).
      const producing = h.produceLines(lines(second), 'lz4', h.topic, IDEMPOTENT);
      const atRestart = await h.totals();
      expect(seen(atRestart)).toBeLessThan(FIRST + SECOND); // mid-stream
      h.db.on('error', () => undefined);
      await stack.postgres.restart();
      await reconnect(h);
      await producing;

      const totals = await eventually(() => h.totals(), (t) => seen(t) >= FIRST + SECOND, 180_000, 500);
      expect(totals).toEqual({ requests: expected.requests, errors: expected.errors, bytes: expected.bytes, accepted: FIRST + SECOND, rejected: 0, late: 0 });
      expect(await h.countBy('domain')).toEqual(expected.byDomain);
      await eventually(() => readyzStatus(port), (s) => s === 200, 120_000, 500);
      expect(ingest.logLines().filter((l) => l.msg === 'ingest consuming')).toHaveLength(1);
      console.info(`[restart] ${client}: PostgreSQL restarted with ${seen(atRestart)} of ${FIRST + SECOND} records stored`);
    } finally {
      await h.tearDown();
    }
  });
});
