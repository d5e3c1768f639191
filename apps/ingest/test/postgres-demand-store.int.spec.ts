import { DataSource } from 'typeorm';
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { createServiceDataSource, openServiceDatabase, PostgresHistoryPartitions } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { addRequest, emptyDemandBucket, LedgerEntry, LedgerTransition, serializeLatencySketch } from '@shardcast/telemetry';
import { ingestMigrations } from '../src/persistence/migrations';
import { PostgresDemandStore } from '../src/persistence/postgres-demand-store';
import { DemandOutboxTable } from '../src/persistence/demand-outbox';
import { ArrayParam } from '../src/persistence/demand-statements';
import { demandHistoryTables } from '../src/persistence/demand-history-tables';
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
  return { next: { progress: { nextOffset, maxEventTimeMs: T0 + 3_600_000 }, open: new Map() }, changed: closed, closed, evicted: [] };
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
    store = new PostgresDemandStore(db, schema, 'ingest-test', new PostgresHistoryPartitions(db, demandHistoryTables(schema)));
    outbox = new DemandOutboxTable(db, schema, 'ingest-test');
  });

  afterAll(async () => {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.destroy();
  });

  it('reads an ArrayParam literal back as PostgreSQL reads node-postgres\' own array encoding of the same values', async () => {
    const texts = ['a.example.com', 'say "hi"', 'back\\slash', '', 'NULL', 'x,y {z} ', 'ünï'];
    const floats = [0, -0, 0.1, 1e-7, 1e21, -2.5, 123456.789, Number.MAX_VALUE, Number.MIN_VALUE, Number.NaN, Infinity];
    const bigints = [0, 9007199254740991, -5, 9223372036854775807n, 41];
    const times = [new Date(T0).toISOString(), new Date(T0 + 60_000).toISOString()];
    const sql = 'SELECT $1::text[] AS t, $2::float8[]::text AS f, $3::bigint[]::text AS b, $4::timestamptz[] AS ts';
    const theirs = await db.query(sql, [texts, floats, bigints, times]);
    const ours = await db.query(sql, [texts, floats, bigints, times].map((v) => new ArrayParam(v)));
    expect(ours).toEqual(theirs);
    expect(ours[0].t).toEqual(texts);
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

  it('adds shares past 2^53 exactly: each revision is read back as text, and the poll rebuilds the exact event', async () => {
    const share = (bytes: number) => {
      const e = entry('bytes.example.com', 'eu-west-1', T0, [10]);
      e.bucket.bytes = bytes;
      return e;
    };
    // 6e15 + 1, then 5e15 + 1 (revision 2: 11000000000000002, past 2^53), then 1 more, added to
    // revision 2 as read back from demand_buckets: a double there would lose the odd byte.
    const results = [];
    for (const [partition, bytes] of [[20, 6_000_000_000_000_001], [21, 5_000_000_000_000_001], [22, 1]] as const) {
      results.push(await store.commit('t', partition, -1n, closing([share(bytes)], 1n), { accepted: 1, rejected: 0, late: 0 }));
    }
    const rows = await db.query(`SELECT revision, bytes::text AS bytes FROM "${schema}".demand_buckets WHERE domain = 'bytes.example.com'`);
    expect(rows).toEqual([{ revision: 3, bytes: '11000000000000003' }]);
    const history = await db.query(`SELECT bytes::text AS bytes FROM "${schema}".demand_history WHERE domain = 'bytes.example.com'`);
    expect(history).toEqual([{ bytes: '11000000000000003' }]);
    const written = results.flatMap((r) => (r.committed ? r.outbox : [])).map((m) => ({ topic: m.topic, key: m.key, payload: m.payload }));
    expect(written.map((m) => JSON.parse(m.payload).payload.bytesExact)).toEqual(['6000000000000001', '11000000000000002', '11000000000000003']);
    // The poll sends the latest revision only, byte for byte as its writer built it.
    const polled = (await drainAll(outbox)).filter((m) => m.payload?.includes('bytes.example.com'));
    expect(polled).toEqual([written[2]]);
    expect(polled[0].payload).toContain('"bytesExact":"11000000000000003"');
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
      evicted: [],
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

  it('stores open shares as one delta per commit: a closed minute drops the deltas it covers, an eviction is a tombstone, and every few commits one delta replaces the rest', async () => {
    const compacting = new PostgresDemandStore(db, schema, 'ingest-test', new PostgresHistoryPartitions(db, demandHistoryTables(schema)), undefined, 4);
    const one = { accepted: 1, rejected: 0, late: 0 };
    const far = entry('far.example.com', 'eu-west-1', T0 + 3_600_000, [1]); // a minute far ahead pins its delta
    const [a1, a2] = [entry('a.example.com', 'eu-west-1', T0 + 120_000, [2]), entry('a.example.com', 'eu-west-1', T0 + 120_000, [2, 3])];
    const [b1, b2] = [entry('b.example.com', 'eu-west-1', T0 + 180_000, [4]), entry('b.example.com', 'eu-west-1', T0 + 180_000, [4, 5, 6])];
    const commit = (expected: bigint, changed: LedgerEntry[], open: LedgerEntry[], closed: LedgerEntry[] = [], evicted: LedgerEntry[] = []) =>
      compacting.commit('c', 0, expected, { next: { progress: { nextOffset: expected < 0n ? 1n : expected + 1n, maxEventTimeMs: T0 + 200_000 }, open: new Map(open.map((e) => [`${e.key.domain}|${e.key.bucketStartMs}`, e])) }, changed, closed, evicted }, one);
    const deltas = async () => (await db.query(`SELECT cardinality(domains) AS shares, cardinality(evicted_domains) AS evicted FROM "${schema}".partition_open_deltas WHERE topic = 'c' ORDER BY seq`)) as Array<{ shares: number; evicted: number }>;
    const openShares = async () =>
      (await db.query(`SELECT domain, requests::int AS requests FROM "${schema}".partition_buckets WHERE topic = 'c' ORDER BY domain`)) as Array<{ domain: string; requests: number }>;
    const loaded = async () => [...(await compacting.loadLedger('c', 0)).open.values()].map((e) => ({ domain: e.key.domain, requests: e.bucket.requests })).sort((x, y) => x.domain.localeCompare(y.domain));

    expect(await commit(-1n, [far, a1], [far, a1])).toMatchObject({ committed: true });
    expect(await commit(1n, [a2], [far, a2])).toMatchObject({ committed: true });
    expect(await deltas()).toEqual([{ shares: 2, evicted: 0 }, { shares: 1, evicted: 0 }]);
    expect(await openShares()).toEqual([{ domain: 'a.example.com', requests: 2 }, { domain: 'far.example.com', requests: 1 }]); // the latest share of a

    // a's minute closes: the delta of a alone goes; the first (it holds far) stays, its a no longer open.
    expect(await commit(2n, [b1], [far, b1], [a2])).toMatchObject({ committed: true, events: 1 });
    expect(await deltas()).toEqual([{ shares: 2, evicted: 0 }, { shares: 1, evicted: 0 }]);
    expect(await openShares()).toEqual([{ domain: 'b.example.com', requests: 1 }, { domain: 'far.example.com', requests: 1 }]);

    // The fourth delta holds every open share and replaces the others.
    expect(await commit(3n, [b2], [far, b2])).toMatchObject({ committed: true });
    expect(await deltas()).toEqual([{ shares: 2, evicted: 0 }]);
    expect(await openShares()).toEqual([{ domain: 'b.example.com', requests: 3 }, { domain: 'far.example.com', requests: 1 }]);
    expect(await loaded()).toEqual(await openShares());

    // far is evicted by the open-bucket limit: a tombstone, and it is no longer open.
    expect(await commit(4n, [], [b2], [far], [far])).toMatchObject({ committed: true, events: 1 });
    expect(await deltas()).toEqual([{ shares: 2, evicted: 0 }, { shares: 0, evicted: 1 }]);
    expect(await openShares()).toEqual([{ domain: 'b.example.com', requests: 3 }]);
    expect(await loaded()).toEqual([{ domain: 'b.example.com', requests: 3 }]);
    const [{ closed }] = await db.query(`SELECT closed_up_to = $1::timestamptz AS closed FROM "${schema}".partition_progress WHERE topic = 'c' AND partition = 0`, [new Date(T0 + 120_000).toISOString()]);
    expect(closed).toBe(true); // the eviction did not move it
  });

  it('writes a commit through the transaction (after a conflict) as the one statement writes it', async () => {
    const one = { accepted: 1, rejected: 0, late: 0 };
    // Partition 8 closes a bucket partition 7 closed first, so its next commits go through the
    // transaction; partition 9 closes one nobody else does and stays on the one statement.
    await store.commit('t', 7, -1n, closing([entry('h.example.com', 'eu-west-1', T0, [1])], 1n), one);
    await store.commit('t', 8, -1n, closing([entry('h.example.com', 'eu-west-1', T0, [2])], 1n), one);
    await store.commit('t', 9, -1n, closing([entry('k.example.com', 'eu-west-1', T0, [2])], 1n), one);
    const transitionOf = (domain: string): LedgerTransition => {
      const open = [entry(domain, 'eu-west-1', T0 + 180_000, [3, 30]), entry(domain, 'us-east-1', T0 + 180_000, [4])];
      const closed = [entry(domain, 'eu-west-1', T0 + 60_000, [5, 50, 500]), entry(domain, 'us-east-1', T0 + 120_000, [6])];
      return { next: { progress: { nextOffset: 9n, maxEventTimeMs: T0 + 180_000 }, open: new Map() }, changed: [...open, ...closed], closed, evicted: [] };
    };
    // Both partitions hold an open share of a bucket that this commit closes.
    for (const [partition, domain] of [[8, 'i.example.com'], [9, 'j.example.com']] as const) {
      // Stored as a delta of this one share, as a commit that changed only it writes it.
      await db.query(
        `INSERT INTO "${schema}".partition_open_deltas (topic, partition, last_bucket_start, domains, regions, bucket_starts, requests, errors, bytes, latency_max_ms,
                                                      latency_sketches, sketch_starts, sketch_lengths, evicted_domains, evicted_regions, evicted_bucket_starts)
         VALUES ('t', $3, $2, ARRAY[$1::text], '{us-east-1}', ARRAY[$2::timestamptz], '{1}', '{0}', '{100}', '{6}', $4, '{1}', ARRAY[octet_length($4::bytea)], '{}', '{}', '{}')`,
        [domain, new Date(T0 + 120_000).toISOString(), partition, serializeLatencySketch(entry(domain, 'us-east-1', T0 + 120_000, [6]).bucket)],
      );
    }
    const transactions = jest.spyOn(PostgresQueryRunner.prototype, 'startTransaction');
    const viaTransaction = await store.commit('t', 8, 1n, transitionOf('i.example.com'), { accepted: 6, rejected: 2, late: 1 });
    expect(transactions).toHaveBeenCalledTimes(1);
    const viaStatement = await store.commit('t', 9, 1n, transitionOf('j.example.com'), { accepted: 6, rejected: 2, late: 1 });
    expect(transactions).toHaveBeenCalledTimes(1);
    transactions.mockRestore();
    expect([viaTransaction, viaStatement]).toMatchObject([{ committed: true, events: 2 }, { committed: true, events: 2 }]);
    const progress = await db.query(
      `SELECT partition, next_offset::int AS next, max_event_time_ms::text AS max, accepted_records::int AS a, rejected_records::int AS r, late_records::int AS l
       FROM "${schema}".partition_progress WHERE topic = 't' AND partition IN (8, 9) ORDER BY partition`,
    );
    expect(progress).toEqual([8, 9].map((partition) => ({ partition, next: 9, max: String(T0 + 180_000), a: 7, r: 2, l: 1 })));
    const shares = async (partition: number) =>
      db.query(
        `SELECT region, bucket_start, requests::int AS requests, errors::int AS errors, bytes::int AS bytes, latency_max_ms, encode(latency_sketch, 'hex') AS sketch
         FROM "${schema}".partition_buckets WHERE topic = 't' AND partition = $1 ORDER BY region, bucket_start`,
        [partition],
      );
    expect(await shares(8)).toHaveLength(2); // the closed share stored while open is gone
    expect(await shares(8)).toEqual(await shares(9));
    const revisions = async (domain: string) =>
      db.query(
        `SELECT region, bucket_start, bucket_seconds, revision, requests::int AS requests, bytes::int AS bytes, latency_p50_ms, latency_p99_ms, latency_max_ms,
                encode(latency_sketch, 'hex') AS sketch
         FROM "${schema}".demand_buckets WHERE domain = $1 ORDER BY region, bucket_start`,
        [domain],
      );
    expect(await revisions('i.example.com')).toHaveLength(2);
    expect(await revisions('i.example.com')).toEqual(await revisions('j.example.com'));
    if (!viaTransaction.committed || !viaStatement.committed) throw new Error('not committed');
    const listed = async (rows: string[]) =>
      db.query(`SELECT cardinality(domains) AS n, revisions FROM "${schema}".demand_outbox WHERE id = ANY($1::bigint[])`, [rows]);
    expect(await listed(viaTransaction.outboxRows)).toEqual([{ n: 2, revisions: [1, 1] }]);
    expect(await listed(viaStatement.outboxRows)).toEqual(await listed(viaTransaction.outboxRows));
    await drainAll(outbox);
  });

  it('deletes a share evicted by the open-bucket limit by key (on both paths), and closes its later share as the next revision', async () => {
    const one = { accepted: 1, rejected: 0, late: 0 };
    const start = T0 + 600_000;
    const [x1, y, z] = [entry('x.example.com', 'eu-west-1', start, [10]), entry('y.example.com', 'eu-west-1', start, [20]), entry('z.example.com', 'eu-west-1', start, [30])];
    const progress = (nextOffset: bigint) => ({ nextOffset, maxEventTimeMs: start + 30_000 });
    const stored = async () =>
      (await db.query(`SELECT domain FROM "${schema}".partition_buckets WHERE topic = 'e' AND partition = 0 ORDER BY domain`)).map((r: { domain: string }) => r.domain);
    const revision = async (domain: string) =>
      db.query(`SELECT revision, requests::int AS requests FROM "${schema}".demand_buckets WHERE domain = $1 AND bucket_start = $2`, [domain, new Date(start).toISOString()]);
    const transactions = jest.spyOn(PostgresQueryRunner.prototype, 'startTransaction');

    // Three open shares of one minute; then x is evicted (the watermark has not passed it).
    await store.commit('e', 0, -1n, { next: { progress: progress(1n), open: new Map() }, changed: [x1, y, z], closed: [], evicted: [] }, one);
    const evictX = await store.commit('e', 0, 1n, { next: { progress: progress(2n), open: new Map() }, changed: [], closed: [x1], evicted: [x1] }, one);
    expect(evictX).toMatchObject({ committed: true, events: 1 });
    expect(transactions).not.toHaveBeenCalled(); // the one statement
    expect(await stored()).toEqual(['y.example.com', 'z.example.com']); // the same minute's other shares stay
    expect(await revision('x.example.com')).toEqual([{ revision: 1, requests: 1 }]);
    expect([...(await store.loadLedger('e', 0)).open.values()].map((e) => e.key.domain).sort()).toEqual(['y.example.com', 'z.example.com']);

    // A later record of x opens a new share; evicted again, it merges as revision 2 (a conflict: the transaction).
    const x2 = entry('x.example.com', 'eu-west-1', start, [11, 12]);
    await store.commit('e', 0, 2n, { next: { progress: progress(3n), open: new Map() }, changed: [x2], closed: [], evicted: [] }, one);
    const evictAgain = await store.commit('e', 0, 3n, { next: { progress: progress(4n), open: new Map() }, changed: [], closed: [x2], evicted: [x2] }, one);
    expect(evictAgain).toMatchObject({ committed: true, events: 1 });
    expect(await revision('x.example.com')).toEqual([{ revision: 2, requests: 3 }]);
    expect(await stored()).toEqual(['y.example.com', 'z.example.com']);

    // The partition now commits through the transaction for a while: an eviction there deletes by key too.
    const calls = transactions.mock.calls.length;
    await store.commit('e', 0, 4n, { next: { progress: progress(5n), open: new Map() }, changed: [], closed: [y], evicted: [y] }, one);
    expect(transactions.mock.calls.length).toBe(calls + 1);
    transactions.mockRestore();
    expect(await stored()).toEqual(['z.example.com']);
    expect(await revision('y.example.com')).toEqual([{ revision: 1, requests: 1 }]);
    await drainAll(outbox);
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

describe('PostgresDemandStore publishing demand.observed.v1 and v2 (real PostgreSQL)', () => {
  const schema = uniqueName('ingest_store_v2');
  let db: DataSource;
  let store: PostgresDemandStore;
  let outbox: DemandOutboxTable;
  const both = { v1: true, v2: true };
  const sentAs = (outboxMessages: Array<{ topic: string; key: string; payload: string }>) => outboxMessages.map((m) => ({ topic: m.topic, key: m.key, payload: m.payload }));
  const v2Of = (messages: Array<{ topic: string; payload: string | null }>) => messages.filter((m) => m.topic === 'demand.observed.v2').map((m) => JSON.parse(m.payload!));

  beforeAll(async () => {
    db = await openServiceDatabase(createServiceDataSource({ url: stackEnv().DATABASE_URL, schema, migrations: ingestMigrations, poolSize: 4 }), schema);
    store = new PostgresDemandStore(db, schema, 'ingest-test', new PostgresHistoryPartitions(db, demandHistoryTables(schema)), both);
    outbox = new DemandOutboxTable(db, schema, 'ingest-test', both);
  });

  afterAll(async () => {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.destroy();
  });

  it('a commit of 1,200 buckets: 1,200 v1 events and 3 v2 chunks, and a poll rebuilds them all byte for byte', async () => {
    const closed = Array.from({ length: 1_200 }, (_, i) => entry(`d${i}.example.com`, 'us-east-1', T0, [5, i]));
    const result = await store.commit('t', 0, -1n, closing(closed, 1_300n), { accepted: 2_400, rejected: 0, late: 0 });
    if (!result.committed) throw new Error('not committed');
    const v2 = v2Of(result.outbox);
    expect(result.outbox).toHaveLength(1_203);
    expect(v2.map((e) => [e.payload.source, e.payload.buckets.length])).toEqual([0, 1, 2].map((chunk) => [{ topic: 't', partition: 0, fromOffset: null, commitOffset: '1300', chunk, chunks: 3 }, chunk < 2 ? 500 : 200]));
    expect(result.outbox.filter((m) => m.topic === 'demand.observed.v2').map((m) => m.key)).toEqual(['t:0', 't:0', 't:0']);
    expect(await drainAll(outbox)).toEqual(sentAs(result.outbox));
  });

  it('merged revisions (another partition closed the bucket first) are in the writer\'s v2 event and in the poll\'s, alike; a close at an unchanged offset has its own ids', async () => {
    const first = await store.commit('t', 1, -1n, closing([entry('m.example.com', 'eu-west-1', T0, [10])], 5n), { accepted: 1, rejected: 0, late: 0 });
    const merged = await store.commit('t', 2, -1n, closing([entry('m.example.com', 'eu-west-1', T0, [20, 30]), entry('n.example.com', 'eu-west-1', T0, [1])], 9n), { accepted: 3, rejected: 0, late: 0 });
    if (!first.committed || !merged.committed) throw new Error('not committed');
    const [event] = v2Of(merged.outbox);
    expect(event.payload.buckets.map((b: { domain: string; revision: number; requests: number }) => [b.domain, b.revision, b.requests])).toEqual([
      ['m.example.com', 2, 3],
      ['n.example.com', 1, 1],
    ]);
    // The next commit of partition 2 closes at the offset the last one left (an idle close).
    const idle = await store.commit('t', 2, 9n, closing([entry('o.example.com', 'eu-west-1', T0, [1])], 9n), { accepted: 0, rejected: 0, late: 0 });
    if (!idle.committed) throw new Error('not committed');
    const [idleEvent] = v2Of(idle.outbox);
    expect(idleEvent.payload.source).toEqual({ topic: 't', partition: 2, fromOffset: '9', commitOffset: '9', chunk: 0, chunks: 1 });
    expect(idleEvent.eventId).not.toBe(event.eventId);
    // The first commit's only revision was replaced: a poll sends nothing of it (its one chunk left empty).
    expect(await drainAll(outbox)).toEqual(sentAs([...merged.outbox, ...idle.outbox]));
  });

  it('a poll leaves out a revision replaced since its commit, under the same event id', async () => {
    const a = await store.commit('t', 3, -1n, closing([entry('r.example.com', 'eu-west-1', T0 + 60_000, [10]), entry('s.example.com', 'eu-west-1', T0 + 60_000, [10])], 4n), { accepted: 2, rejected: 0, late: 0 });
    const b = await store.commit('t', 4, -1n, closing([entry('r.example.com', 'eu-west-1', T0 + 60_000, [20])], 4n), { accepted: 1, rejected: 0, late: 0 });
    if (!a.committed || !b.committed) throw new Error('not committed');
    const polled = v2Of(await drainAll(outbox));
    const [written] = v2Of(a.outbox);
    expect(polled.map((e) => e.eventId)).toEqual([written.eventId, v2Of(b.outbox)[0].eventId]);
    expect(polled[0]).toEqual({ ...written, payload: { ...written.payload, buckets: written.payload.buckets.filter((x: { domain: string }) => x.domain === 's.example.com') } });
  });

  it('sends rows written before their commit was recorded on v1 only', async () => {
    await store.commit('t', 5, -1n, closing([entry('legacy.example.com', 'eu-west-1', T0, [10])], 2n), { accepted: 1, rejected: 0, late: 0 });
    await db.query(`UPDATE "${schema}".demand_outbox SET source_topic = NULL, source_partition = NULL, from_offset = NULL, commit_offset = NULL, chunk_ends = NULL`);
    expect((await drainAll(outbox)).map((m) => m.topic)).toEqual(['demand.observed.v1']);
  });
});
