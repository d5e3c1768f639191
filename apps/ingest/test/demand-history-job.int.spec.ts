import { DataSource } from 'typeorm';
import { createServiceDataSource, daysOf, openServiceDatabase, PostgresHistoryPartitions, runHistoryJob } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { addRequest, emptyDemandBucket, LedgerEntry } from '@shardcast/telemetry';
import { ingestMigrations } from '../src/persistence/migrations';
import { demandHistoryTables } from '../src/persistence/demand-history-tables';
import { PostgresDemandStore } from '../src/persistence/postgres-demand-store';

jest.setTimeout(120_000);

const DAY = 86_400_000;
const HOUR = 3_600_000;
const D = Date.UTC(2026, 0, 20); // the newest day with data
const NOW = D + 10 * HOUR;
const retention = { createAheadDays: 1, rollUpAfterDays: 3, retainDays: 8 };
const iso = (ms: number) => new Date(ms).toISOString();

interface MinuteRow {
  domain: string;
  region: string;
  start: number;
  requests: number;
  bytes: bigint;
}

/** Minute buckets on days D-12..D: a few hours a day, ten minutes an hour, bytes past 2^53 in every row. */
function minuteRows(): MinuteRow[] {
  const rows: MinuteRow[] = [];
  let n = 0;
  for (let day = D - 12 * DAY; day <= D; day += DAY)
    for (const domain of ['a.example.com', 'b.example.com'])
      for (const region of ['eu-west-1', 'us-east-1'])
        for (const hour of [0, 5, 23])
          for (let minute = 0; minute < 60; minute += 6) {
            n++;
            rows.push({ domain, region, start: day + hour * HOUR + minute * 60_000, requests: 1 + (n % 17), bytes: 2n ** 53n + BigInt(n * 7919) });
          }
  return rows;
}

/** Exact totals per (domain, region, hour), as decimal text. */
function hourlyTotals(rows: readonly MinuteRow[]): Map<string, { requests: number; bytes: string }> {
  const sums = new Map<string, { requests: number; bytes: bigint }>();
  for (const r of rows) {
    const id = `${r.domain}|${r.region}|${iso(Math.floor(r.start / HOUR) * HOUR)}`;
    const s = sums.get(id) ?? { requests: 0, bytes: 0n };
    s.requests += r.requests;
    s.bytes += r.bytes;
    sums.set(id, s);
  }
  return new Map([...sums].map(([id, s]) => [id, { requests: s.requests, bytes: s.bytes.toString() }]));
}

describe('demand history job (real PostgreSQL, ingest tables)', () => {
  const schema = uniqueName('ingest_history_t');
  const sources: DataSource[] = [];
  let db: DataSource;
  let partitions: PostgresHistoryPartitions;
  const rows = minuteRows();

  const hourlyRows = async () => {
    const stored: Array<{ domain: string; region: string; t: Date; requests: string; bytes: string }> = await db.query(
      `SELECT domain, region, bucket_start AS t, requests::text AS requests, bytes::text AS bytes FROM "${schema}".demand_buckets_hourly ORDER BY 1, 2, 3`,
    );
    return new Map(stored.map((r) => [`${r.domain}|${r.region}|${r.t.toISOString()}`, { requests: Number(r.requests), bytes: r.bytes }]));
  };
  const partitionNames = async () =>
    (
      await db.query(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`,
        [schema],
      )
    ).map((r: { name: string }) => r.name);

  beforeAll(async () => {
    db = await openServiceDatabase(createServiceDataSource({ url: stackEnv().DATABASE_URL, schema, migrations: ingestMigrations, poolSize: 4 }), schema);
    sources.push(db);
    partitions = new PostgresHistoryPartitions(db, demandHistoryTables(schema));
    await partitions.ensureMinuteDays(daysOf(rows.map((r) => r.start)));
    await db.query(
      `INSERT INTO "${schema}".demand_buckets (domain, region, bucket_start, bucket_seconds, revision, requests, errors, bytes, latency_max_ms)
       SELECT d, r, t, 60, 1, rq, 0, b, rq FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[]) AS u(d, r, t, rq, b)`,
      [rows.map((r) => r.domain), rows.map((r) => r.region), rows.map((r) => iso(r.start)), rows.map((r) => r.requests), rows.map((r) => r.bytes.toString())],
    );
  });

  afterAll(async () => {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await Promise.all(sources.map((s) => s.destroy()));
  });

  it('rolls minute days past the roll-up age into exact hourly rows, drops days past the retention, creates the days ahead', async () => {
    const report = await runHistoryJob(partitions, retention, NOW);
    expect(report).toMatchObject({ skipped: false, referenceDay: D, create: [D + DAY] });

    const names = await partitionNames();
    const day = (offset: number) => new Date(D + offset * DAY).toISOString().slice(0, 10).replace(/-/g, '');
    expect(names.filter((n: string) => n.startsWith('demand_buckets_2'))).toEqual([-3, -2, -1, 0, 1].map((o) => `demand_buckets_${day(o)}`));
    expect(names.filter((n: string) => n.startsWith('demand_buckets_hourly_'))).toEqual([-8, -7, -6, -5, -4].map((o) => `demand_buckets_hourly_${day(o)}`));

    // Hours of days D-8..D-4 hold the exact sums of their minutes (bytes past 2^53, compared as decimal text).
    const rolled = rows.filter((r) => r.start >= D - 8 * DAY && r.start < D - 3 * DAY);
    expect(await hourlyRows()).toEqual(hourlyTotals(rolled));
    const [minutes] = await db.query(`SELECT count(*)::int AS n, min(bucket_start) AS first FROM "${schema}".demand_buckets`);
    expect([minutes.n, minutes.first.toISOString()]).toEqual([rows.filter((r) => r.start >= D - 3 * DAY).length, iso(D - 3 * DAY)]);
    // The contract view reads both tables: the whole retained history, exactly.
    const [view] = await db.query(`SELECT sum(requests)::text AS requests, sum(bytes)::text AS bytes FROM "${schema}".demand_history`);
    const kept = rows.filter((r) => r.start >= D - 8 * DAY);
    expect(view).toEqual({ requests: String(kept.reduce((s, r) => s + r.requests, 0)), bytes: kept.reduce((s, r) => s + r.bytes, 0n).toString() });

    // A second run finds nothing to do.
    expect(await runHistoryJob(partitions, retention, NOW)).toMatchObject({ create: [], rollUp: [], dropMinute: [], dropHourly: [], finishRollUps: [] });
  });

  it('takes a share closed after its day was rolled up (a partition days behind): a new partition, then added to its hour exactly', async () => {
    const late = D - 5 * DAY + 5 * HOUR + 7 * 60_000;
    const bucket = emptyDemandBucket();
    for (let i = 0; i < 3; i++) addRequest(bucket, 200, 10, 1000);
    const entry: LedgerEntry = { key: { domain: 'a.example.com', region: 'eu-west-1', bucketStartMs: late }, bucket };
    const store = new PostgresDemandStore(db, schema, 'ingest-test', partitions);
    const result = await store.commit('t', 0, -1n, { next: { progress: { nextOffset: 1n, maxEventTimeMs: late }, open: new Map() }, changed: [entry], closed: [entry], evicted: [] }, { accepted: 3, rejected: 0, late: 0 });
    expect(result).toMatchObject({ committed: true, events: 1 });

    const before = await hourlyRows();
    expect(await runHistoryJob(partitions, retention, NOW)).toMatchObject({ rollUp: [D - 5 * DAY] });
    const after = await hourlyRows();
    const id = `a.example.com|eu-west-1|${iso(D - 5 * DAY + 5 * HOUR)}`;
    expect(after.get(id)).toEqual({ requests: before.get(id)!.requests + 3, bytes: (BigInt(before.get(id)!.bytes) + 3000n).toString() });
    after.delete(id);
    before.delete(id);
    expect(after).toEqual(before);
  });

  it('finishes a roll-up interrupted between the detach and the aggregation', async () => {
    await partitions.detachMinuteDay(D - 3 * DAY, true); // the job's first step, then a crash
    const report = await runHistoryJob(partitions, retention, NOW);
    expect(report).toMatchObject({ finishRollUps: [D - 3 * DAY], rollUp: [] });
    const hourly = await hourlyRows();
    for (const [id, totals] of hourlyTotals(rows.filter((r) => r.start >= D - 3 * DAY && r.start < D - 2 * DAY))) expect(hourly.get(id)).toEqual(totals);
    expect((await partitionNames()).filter((n: string) => n.includes('detached'))).toEqual([]);
    // Writes of that day go to a new partition meanwhile (ingest makes it on demand).
    expect(await db.query(`SELECT to_regclass($1) AS t`, [`"${schema}".demand_buckets_detached_${new Date(D - 3 * DAY).toISOString().slice(0, 10).replace(/-/g, '')}`])).toEqual([{ t: null }]);
  });

  it('runs on one instance at a time: a second instance skips while the first holds the lock, and totals stay exact', async () => {
    const other = await openServiceDatabase(createServiceDataSource({ url: stackEnv().DATABASE_URL, schema, migrations: ingestMigrations, poolSize: 2 }), schema);
    sources.push(other);
    const second = new PostgresHistoryPartitions(other, demandHistoryTables(schema));
    const inside = await partitions.exclusively(() => runHistoryJob(second, retention, NOW + 2 * DAY));
    expect(inside).toEqual({ skipped: true });

    // Both at once, after data of D+2 came: the day that came due is rolled up once, whoever runs it.
    await partitions.ensureMinuteDays([D + 2 * DAY]);
    await db.query(`INSERT INTO "${schema}".demand_buckets (domain, region, bucket_start, bucket_seconds, requests) VALUES ('c.example.com', 'eu-west-1', $1, 60, 1)`, [iso(D + 2 * DAY)]);
    const before = await hourlyRows();
    const reports = await Promise.all([runHistoryJob(partitions, retention, NOW + 2 * DAY), runHistoryJob(second, retention, NOW + 2 * DAY)]);
    expect(reports.filter((r) => !r.skipped).length).toBeGreaterThanOrEqual(1);
    const rolledNow = rows.filter((r) => r.start >= D - 2 * DAY && r.start < D - DAY);
    const after = await hourlyRows();
    for (const [id, totals] of hourlyTotals(rolledNow)) expect(after.get(id)).toEqual(totals);
    // The reference moved two days: two more hourly days expired (D-8, D-7), D-2 came in.
    expect(after.size).toBe(hourlyTotals(rows.filter((r) => r.start >= D - 6 * DAY && r.start < D - DAY)).size);
    expect(before.size).toBe(hourlyTotals(rows.filter((r) => r.start >= D - 8 * DAY && r.start < D - 2 * DAY)).size);
  });

  it('stays bounded: a year of runs without data keeps the history and no pile of empty days; data a year on expires the rest', async () => {
    const history = async () => (await db.query(`SELECT count(*)::int AS n, sum(requests)::text AS requests FROM "${schema}".demand_history`))[0];
    const kept = await history();
    for (let i = 3; i <= 365; i += 5) await runHistoryJob(partitions, retention, NOW + i * DAY);
    // Ages count from the newest data (D+2): the history is kept as it was; days made ahead that stayed empty went.
    expect(await history()).toEqual(kept);
    const empty = (await partitionNames()).filter((n: string) => /^demand_buckets_\d{8}$/.test(n) && n > `demand_buckets_${new Date(D + 2 * DAY).toISOString().slice(0, 10).replace(/-/g, '')}`);
    expect(empty.length).toBeLessThanOrEqual(retention.rollUpAfterDays + retention.createAheadDays + 1);
    // Data arriving on the last day moves the reference: everything older than the retention goes.
    const last = NOW + 365 * DAY;
    await partitions.ensureMinuteDays([D + 365 * DAY]);
    await db.query(`INSERT INTO "${schema}".demand_buckets (domain, region, bucket_start, bucket_seconds, requests) VALUES ('a.example.com', 'eu-west-1', $1, 60, 1)`, [iso(D + 365 * DAY)]);
    await runHistoryJob(partitions, retention, last);
    expect((await partitionNames()).length).toBeLessThanOrEqual(retention.rollUpAfterDays + retention.createAheadDays + 1 + (retention.retainDays - retention.rollUpAfterDays));
    const [{ oldest }] = await db.query(`SELECT min(bucket_start) AS oldest FROM "${schema}".demand_history`);
    expect(oldest.getTime()).toBeGreaterThanOrEqual(D + 365 * DAY - retention.retainDays * DAY);
  });
});
