import { DataSource } from 'typeorm';
import { createServiceDataSource, openServiceDatabase } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { addRequest, deserializeLatencySketch, emptyDemandBucket, latencySummary, serializeLatencySketch } from '@shardcast/telemetry';
import { ingestMigrations } from '../src/persistence/migrations';
import { PostgresDemandStore } from '../src/persistence/postgres-demand-store';

const schema = uniqueName('ingest_migr_t');
const T = '2014-04-10T12:00:00.000Z';

function share(latencies: number[]) {
  const b = emptyDemandBucket();
  for (const l of latencies) addRequest(b, 200, l, 100);
  return b;
}

describe('ingest migrations (real PostgreSQL)', () => {
  const sources: DataSource[] = [];
  afterAll(async () => {
    await sources[0]?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await Promise.all(sources.map((s) => (s.isInitialized ? s.destroy() : undefined)));
  });

  it('folds the closed shares of the first layout into demand_buckets and keeps open shares open', async () => {
    const { DATABASE_URL } = stackEnv();
    const first = createServiceDataSource({ url: DATABASE_URL, schema, migrations: ingestMigrations.slice(0, 1), poolSize: 2 });
    sources.push(first);
    await openServiceDatabase(first, schema);
    // Partition 0 closed the bucket first (its snapshot then included partition 1's open share of
    // 1 request); partition 1 closed later with 2 requests. Another bucket is open on partition 0.
    const insertShare = (partition: number, start: string, latencies: number[], closed: boolean) =>
      first.query(
        `INSERT INTO "${schema}".partition_buckets (domain, region, bucket_start, topic, partition, requests, errors, bytes, latency_max_ms, latency_sketch, closed)
         VALUES ('a.example.com', 'eu-west-1', $1, 't', $2, $3, 0, $4, $5, $6, $7)`,
        [start, partition, latencies.length, 100 * latencies.length, Math.max(...latencies), serializeLatencySketch(share(latencies)), closed],
      );
    await insertShare(0, T, [10, 20, 30], true);
    await insertShare(1, T, [40, 500], true);
    await insertShare(0, '2014-04-10T12:01:00.000Z', [7], false);
    await first.query(
      `INSERT INTO "${schema}".demand_buckets (domain, region, bucket_start, bucket_seconds, revision, requests, errors, bytes, latency_max_ms, latency_sketch)
       VALUES ('a.example.com', 'eu-west-1', $1, 60, 2, 4, 0, 400, 40, $2)`,
      [T, serializeLatencySketch(share([10, 20, 30, 40]))],
    );
    await first.query(`INSERT INTO "${schema}".outbox (event_id, topic, key, payload) VALUES ('e1', 'demand.observed.v1', 'a.example.com', '{"a": 1}')`);

    const second = createServiceDataSource({ url: DATABASE_URL, schema, migrations: ingestMigrations.slice(0, 2), poolSize: 2 });
    sources.push(second);
    await openServiceDatabase(second, schema);

    const [bucket] = await second.query(`SELECT revision, requests, bytes, latency_max_ms, latency_p99_ms, latency_sketch FROM "${schema}".demand_buckets`);
    expect({ revision: bucket.revision, requests: Number(bucket.requests), bytes: Number(bucket.bytes), max: bucket.latency_max_ms }).toEqual({ revision: 2, requests: 5, bytes: 500, max: 500 });
    expect(deserializeLatencySketch(bucket.latency_sketch).count).toBe(5);
    expect(bucket.latency_p99_ms).toBe(latencySummary(share([10, 20, 30, 40, 500])).p99);
    const partials = await second.query(`SELECT partition, requests FROM "${schema}".partition_buckets`);
    expect(partials.map((p: { partition: number; requests: string }) => [p.partition, Number(p.requests)])).toEqual([[0, 1]]);
    const history = await second.query(`SELECT bucket_start::text AS t, requests::int AS n, closed FROM "${schema}".demand_history ORDER BY bucket_start`);
    expect(history.map((h: { n: number; closed: boolean }) => [h.n, h.closed])).toEqual([
      [5, true],
      [1, false],
    ]);
    const [outbox] = await second.query(`SELECT pg_typeof(payload)::text AS type, payload FROM "${schema}".outbox`);
    expect(outbox).toEqual({ type: 'text', payload: '{"a": 1}' });
  });

  it('turns unsent events of the event outbox into demand_outbox rows naming their revisions, in order', async () => {
    const { DATABASE_URL } = stackEnv();
    const occurredAt = (revision: number) => `2014-04-10T12:05:0${revision}.123Z`;
    const event = (start: string, revision: number) =>
      JSON.stringify({ eventId: `${start}/${revision}`, occurredAt: occurredAt(revision), payload: { domain: 'a.example.com', region: 'eu-west-1', bucketStart: start, revision } });
    const before = sources[1];
    await before.query(`DELETE FROM "${schema}".outbox`);
    for (const [start, revision] of [['2014-04-10T12:01:00.000Z', 1], [T, 2], [T, 1]] as const) {
      await before.query(`INSERT INTO "${schema}".outbox (event_id, topic, key, payload) VALUES ($1, 'demand.observed.v1', 'a.example.com', $2)`, [`${start}/${revision}`, event(start, revision)]);
    }
    const third = createServiceDataSource({ url: DATABASE_URL, schema, migrations: ingestMigrations, poolSize: 2 });
    sources.push(third);
    await openServiceDatabase(third, schema);
    const rows = await third.query(`SELECT domains, regions, bucket_starts::text[] AS starts, revisions FROM "${schema}".demand_outbox ORDER BY id`);
    expect(rows.map((r: { domains: string[]; regions: string[]; starts: string[]; revisions: number[] }) => [r.domains, r.regions, r.starts.map((t) => new Date(t).toISOString()), r.revisions])).toEqual([
      [['a.example.com'], ['eu-west-1'], ['2014-04-10T12:01:00.000Z'], [1]],
      [['a.example.com'], ['eu-west-1'], [T], [2]],
      [['a.example.com'], ['eu-west-1'], [T], [1]],
    ]);
    expect(await third.query(`SELECT to_regclass($1) AS t`, [`"${schema}".outbox`])).toEqual([{ t: null }]);
    // The stored revision (2) takes its unsent event's time, from which the poll rebuilds occurredAt.
    const [bucket] = await third.query(`SELECT revision, updated_at FROM "${schema}".demand_buckets WHERE bucket_start = $1`, [T]);
    expect([bucket.revision, bucket.updated_at.toISOString()]).toEqual([2, occurredAt(2)]);
  });

  it('partitions demand_buckets by day keeping every row as it was, and the contract view reads it with each row\'s width', async () => {
    const { DATABASE_URL } = stackEnv();
    const other = uniqueName('ingest_migr_p');
    const before = createServiceDataSource({ url: DATABASE_URL, schema: other, migrations: ingestMigrations.slice(0, 4), poolSize: 2 });
    sources.push(before);
    await openServiceDatabase(before, other);
    const starts = ['2014-04-09T23:59:00.000Z', '2014-04-10T00:00:00.000Z', '2014-04-10T12:00:00.000Z', '2026-12-02T08:30:00.000Z'];
    for (const [i, start] of starts.entries()) {
      await before.query(
        `INSERT INTO "${other}".demand_buckets (domain, region, bucket_start, bucket_seconds, revision, requests, errors, bytes, latency_p99_ms, latency_max_ms, latency_sketch, updated_at)
         VALUES ('a.example.com', 'eu-west-1', $1, 60, $2, $3, 1, $4, 12.5, 40, $5, $6)`,
        [start, i + 1, 10 + i, (2n ** 62n + BigInt(i)).toString(), serializeLatencySketch(share([10, 20])), `2026-01-0${i + 1}T00:00:00.000Z`],
      );
    }
    const read = (s: DataSource) => s.query(`SELECT *, bytes::text AS bytes FROM "${other}".demand_buckets ORDER BY bucket_start`);
    const rows = await read(before);

    const after = createServiceDataSource({ url: DATABASE_URL, schema: other, migrations: ingestMigrations, poolSize: 2 });
    sources.push(after);
    await openServiceDatabase(after, other);
    expect(await read(after)).toEqual(rows);
    const partitions = await after.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass AND c.relkind = 'r' ORDER BY 1`,
      [`"${other}".demand_buckets`],
    );
    expect(partitions.map((p: { name: string }) => p.name)).toEqual(['demand_buckets_20140409', 'demand_buckets_20140410', 'demand_buckets_20261202']);
    const view = await after.query(`SELECT bucket_seconds, requests::int AS requests, bytes::text AS bytes, closed FROM "${other}".demand_history ORDER BY bucket_start`);
    expect(view).toEqual(starts.map((_, i) => ({ bucket_seconds: 60, requests: 10 + i, bytes: (2n ** 62n + BigInt(i)).toString(), closed: true })));
    await after.query(`DROP SCHEMA "${other}" CASCADE`);
  });
  it('turns open shares into one delta per partition: the ledger loads them as before, and down brings the table back', async () => {
    const { DATABASE_URL } = stackEnv();
    const other = uniqueName('ingest_migr_d');
    const before = createServiceDataSource({ url: DATABASE_URL, schema: other, migrations: ingestMigrations.slice(0, 6), poolSize: 2 });
    sources.push(before);
    await openServiceDatabase(before, other);
    const shares = [
      { partition: 0, domain: 'a.example.com', start: T, latencies: [10, 20, 30] },
      { partition: 0, domain: 'b.example.com', start: '2014-04-10T12:01:00.000Z', latencies: [7] },
      { partition: 1, domain: 'a.example.com', start: T, latencies: [500] },
    ];
    for (const { partition, domain, start, latencies } of shares) {
      await before.query(
        `INSERT INTO "${other}".partition_buckets (domain, region, bucket_start, topic, partition, requests, errors, bytes, latency_max_ms, latency_sketch)
         VALUES ($1, 'eu-west-1', $2, 't', $3, $4, 0, $5, $6, $7)`,
        [domain, start, partition, latencies.length, (2n ** 60n).toString(), Math.max(...latencies), serializeLatencySketch(share(latencies))],
      );
    }
    await before.query(`INSERT INTO "${other}".partition_progress (topic, partition, next_offset) VALUES ('t', 0, 5), ('t', 1, 9)`);
    const read = (s: DataSource) =>
      s.query(`SELECT *, bytes::text AS bytes, encode(latency_sketch, 'hex') AS latency_sketch FROM "${other}".partition_buckets ORDER BY partition, bucket_start, domain`);
    const rows = await read(before);

    const after = createServiceDataSource({ url: DATABASE_URL, schema: other, migrations: ingestMigrations, poolSize: 2 });
    sources.push(after);
    await openServiceDatabase(after, other);
    expect(await after.query(`SELECT partition, cardinality(domains) AS n FROM "${other}".partition_open_deltas ORDER BY partition`)).toEqual([
      { partition: 0, n: 2 },
      { partition: 1, n: 1 },
    ]);
    expect(await read(after)).toEqual(rows);
    const ledger = await new PostgresDemandStore(after, other, 'ingest-test', { ensureMinuteDays: async () => undefined, ensureHourlyDays: async () => undefined }).loadLedger('t', 0);
    expect([...ledger.open.values()].map((e) => [e.key.domain, e.bucket.requests, e.bucket.bytesBig ?? e.bucket.bytes, e.bucket.latency.count]).sort()).toEqual([
      ['a.example.com', 3, 2n ** 60n, 3],
      ['b.example.com', 1, 2n ** 60n, 1],
    ]);
    const history = await after.query(`SELECT requests::int AS n, closed FROM "${other}".demand_history ORDER BY bucket_start`);
    expect(history).toEqual([
      { n: 4, closed: false },
      { n: 1, closed: false },
    ]);

    await after.undoLastMigration();
    expect(await read(after)).toEqual(rows);
    expect(await after.query(`SELECT relkind FROM pg_class WHERE oid = $1::regclass`, [`"${other}".partition_buckets`])).toEqual([{ relkind: 'r' }]);
    await after.query(`DROP SCHEMA "${other}" CASCADE`);
  });
});
