import { DataSource } from 'typeorm';
import { createServiceDataSource, openServiceDatabase } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { addRequest, emptyDemandBucket, LedgerEntry, LedgerTransition, serializeLatencySketch } from '@shardcast/telemetry';
import { ingestMigrations } from '../src/persistence/migrations';
import { PostgresDemandStore } from '../src/persistence/postgres-demand-store';
import { DemandOutboxTable } from '../src/persistence/demand-outbox';
import type { OutboxEvent } from '@shardcast/platform';

jest.setTimeout(120_000);

const T0 = Date.UTC(2014, 3, 10, 12, 0);

function entry(domain: string, region: string, bucketStartMs: number, latencies: number[]): LedgerEntry {
  const bucket = emptyDemandBucket();
  for (const l of latencies) addRequest(bucket, 200, l, 100);
  return { key: { domain, region, bucketStartMs }, bucket };
}

/** A transition that closes `closed` and moves the partition to `nextOffset`. */
function closing(closed: LedgerEntry[], nextOffset: bigint): LedgerTransition {
  return { next: { progress: { nextOffset, maxEventTimeMs: T0 + 3_600_000 }, open: new Map() }, changed: closed, closed };
}

/** Everything an outbox poll sends (no writer grace), in order. */
async function drainAll(outbox: DemandOutboxTable): Promise<OutboxEvent[]> {
  const sent: OutboxEvent[] = [];
  while ((await outbox.drainOnce(async (events) => {
      for (const e of events) sent.push(e); // not spread: 140k arguments overflow the stack
    }, 200_000, 0)) > 0);
  return sent;
}

describe('PostgresDemandStore (real PostgreSQL)', () => {
  const schema = uniqueName('ingest_store_t');
  let db: DataSource;
  let store: PostgresDemandStore;
  let outbox: DemandOutboxTable;

  beforeAll(async () => {
    db = await openServiceDatabase(createServiceDataSource({ url: stackEnv().DATABASE_URL, schema, migrations: ingestMigrations, poolSize: 4 }), schema);
    store = new PostgresDemandStore(db, schema, 'ingest-test');
    outbox = new DemandOutboxTable(db, schema, 'ingest-test');
  });

  afterAll(async () => {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.destroy();
  });

  it('adds the shares two partitions close at once as revisions 1 and 2 of one bucket, each with its event', async () => {
    const [a, b] = [entry('a.example.com', 'eu-west-1', T0, [10, 20]), entry('a.example.com', 'eu-west-1', T0, [30, 40, 500])];
    const results = await Promise.all([store.commit('t', 0, -1n, closing([a], 5n), { accepted: 2, rejected: 0, late: 0 }), store.commit('t', 1, -1n, closing([b], 7n), { accepted: 3, rejected: 0, late: 0 })]);
    expect(results).toMatchObject([
      { committed: true, events: 1 },
      { committed: true, events: 1 },
    ]);
    // Each commit hands back the event of its revision, for its writer to send right away, and
    // the demand_outbox row that names that revision.
    const written = results.flatMap((r) => (r.committed ? r.outbox : []));
    expect(results.flatMap((r) => (r.committed ? r.outboxRows : []))).toHaveLength(2);
    const [row] = await db.query(`SELECT revision, requests::int AS requests, latency_max_ms FROM "${schema}".demand_buckets`);
    expect(row).toEqual({ revision: 2, requests: 5, latency_max_ms: 500 });
    const events = written.map((m) => JSON.parse(m.payload).payload);
    expect(events.map((e: { revision: number; requests: number }) => [e.revision, e.requests]).sort()).toEqual([[1, events.find((e: { revision: number }) => e.revision === 1).requests], [2, 5]]);
    // Neither was sent: the poll rebuilds revision 2's event exactly as written and leaves out
    // revision 1, which revision 2 holds in full; both rows go.
    const polled = await drainAll(outbox);
    expect(polled).toEqual(written.filter((m) => JSON.parse(m.payload).payload.revision === 2).map((m) => ({ topic: m.topic, key: m.key, payload: m.payload })));
    expect(await db.query(`SELECT count(*)::int AS n FROM "${schema}".demand_outbox`)).toEqual([{ n: 0 }]);
    // A stale writer (expects offset -1 again) is refused and told the stored offset.
    expect(await store.commit('t', 0, -1n, closing([a], 9n), { accepted: 2, rejected: 0, late: 0 })).toEqual({ committed: false, storedOffset: 5n });
    // So is one expecting an offset where nothing is stored yet, and nothing of it is written.
    expect(await store.commit('t', 5, 3n, closing([entry('b.example.com', 'eu-west-1', T0, [1])], 9n), { accepted: 1, rejected: 0, late: 0 })).toEqual({ committed: false, storedOffset: -1n });
    expect(await db.query(`SELECT count(*)::int AS n FROM "${schema}".demand_buckets WHERE domain = 'b.example.com'`)).toEqual([{ n: 0 }]);
  });

  it('closes 140,000 buckets in one commit (a catch-up batch over many keys)', async () => {
    const closed = Array.from({ length: 140_000 }, (_, i) => entry(`d${i % 7_000}.example.com`, 'us-east-1', T0 + Math.floor(i / 7_000) * 60_000, [5]));
    const result = await store.commit('t', 2, -1n, closing(closed, 140_000n), { accepted: 140_000, rejected: 0, late: 0 });
    expect(result).toMatchObject({ committed: true, events: 140_000 });
    const [sum] = await db.query(`SELECT count(*)::int AS n, sum(requests)::int AS requests FROM "${schema}".demand_buckets WHERE region = 'us-east-1'`);
    expect(sum).toEqual({ n: 140_000, requests: 140_000 });
    // One outbox row names them all; a poll (its writer died) rebuilds every event as written, in order.
    if (!result.committed) throw new Error('not committed');
    expect(result.outboxRows).toHaveLength(1);
    expect(await drainAll(outbox)).toEqual(result.outbox.map((m) => ({ topic: m.topic, key: m.key, payload: m.payload })));
  });

  it('stores open and closed shares with their sketches byte for byte (sent packed in one param each)', async () => {
    const open = [entry('e.example.com', 'eu-west-1', T0 + 120_000, [1, 2, 3]), entry('e.example.com', 'us-east-1', T0 + 120_000, [900]), entry('f.example.com', 'eu-west-1', T0 + 120_000, [5, 50, 500, 5000])];
    const closed = [entry('e.example.com', 'eu-west-1', T0, [7, 8]), entry('f.example.com', 'eu-west-1', T0, [0.5, 1.5, 2.5, 3000])];
    const transition: LedgerTransition = {
      next: { progress: { nextOffset: 4n, maxEventTimeMs: T0 + 120_000 }, open: new Map(open.map((e) => [e.key.domain + e.key.region, e])) },
      changed: [...open, ...closed],
      closed,
    };
    const result = await store.commit('t', 4, -1n, transition, { accepted: 13, rejected: 0, late: 0 });
    expect(result).toMatchObject({ committed: true, events: 2 });
    if (!result.committed) throw new Error('not committed');
    expect(await drainAll(outbox)).toEqual(result.outbox.map((m) => ({ topic: m.topic, key: m.key, payload: m.payload })));
    const ledger = await store.loadLedger('t', 4);
    const loaded = [...ledger.open.values()].map((e) => [e.key.domain, e.key.region, serializeLatencySketch(e.bucket).toString('hex')]).sort();
    expect(loaded).toEqual(open.map((e) => [e.key.domain, e.key.region, serializeLatencySketch(e.bucket).toString('hex')]).sort());
    const rows: Array<{ domain: string; latency_sketch: Buffer }> = await db.query(
      `SELECT domain, latency_sketch FROM "${schema}".demand_buckets WHERE domain IN ('e.example.com', 'f.example.com') ORDER BY domain`,
    );
    expect(rows.map((r) => r.latency_sketch.toString('hex'))).toEqual(closed.map((e) => serializeLatencySketch(e.bucket).toString('hex')));
  });

  it('polls whole commits up to the event limit, at least one however large', async () => {
    const sizes = [2, 2, 1, 4];
    for (const [i, n] of sizes.entries()) {
      const closed = Array.from({ length: n }, (_, k) => entry(`g${k}.example.com`, 'eu-west-1', T0 + i * 60_000, [k + 1]));
      expect(await store.commit('t', 6, i === 0 ? -1n : BigInt(i), closing(closed, BigInt(i + 1)), { accepted: n, rejected: 0, late: 0 })).toMatchObject({ committed: true });
    }
    const polls: number[] = [];
    for (let n = await outbox.drainOnce(async () => undefined, 3, 0); n > 0; n = await outbox.drainOnce(async () => undefined, 3, 0)) polls.push(n);
    expect(polls).toEqual([2, 3, 4]); // [2] (2 + 2 > 3), [2, 1], [4] alone
  });

  it('deletes the rows of events its writer has sent, and polls only rows past the writer grace', async () => {
    const result = await store.commit('t', 3, -1n, closing([entry('c.example.com', 'eu-west-1', T0, [3])], 1n), { accepted: 1, rejected: 0, late: 0 });
    const next = await store.commit('t', 3, 1n, closing([entry('c.example.com', 'eu-west-1', T0 + 60_000, [4])], 2n), { accepted: 1, rejected: 0, late: 0 });
    if (!result.committed || !next.committed) throw new Error('not committed');
    expect(await outbox.drainOnce(async () => undefined, 1000, 60_000)).toBe(0); // both fresh: their writer sends them
    await outbox.deleteRows(result.outboxRows);
    expect(await drainAll(outbox)).toEqual(next.outbox.map((m) => ({ topic: m.topic, key: m.key, payload: m.payload })));
  });
});
