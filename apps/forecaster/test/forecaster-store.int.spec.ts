import { createServiceDataSource, openServiceDatabase, PostgresHistoryPartitions, runHistoryJob } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { DataSource } from 'typeorm';
import { forecasterMigrations } from '../src/persistence/migrations';
import { ForecasterStore } from '../src/persistence/forecaster-store';
import { observedDemandTables } from '../src/persistence/observed-demand-tables';

describe('ForecasterStore against the real database', () => {
  const schema = uniqueName('forecaster_store');
  let db: DataSource;
  let store: ForecasterStore;

  beforeAll(async () => {
    db = await openServiceDatabase(createServiceDataSource({ url: stackEnv().DATABASE_URL, schema, migrations: forecasterMigrations }), schema);
    store = new ForecasterStore(db, schema, new PostgresHistoryPartitions(db, observedDemandTables(schema)));
  });
  afterAll(async () => {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.destroy();
  });

  it('lets exactly one of several concurrent instances claim a scheduled job per interval', async () => {
    const claims = await Promise.all(Array.from({ length: 8 }, () => store.claimSchedule('refresh-all', 60_000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store.claimSchedule('refresh-all', 60_000)).toBe(false);
    expect(await store.claimSchedule('another-job', 60_000)).toBe(true);
    expect(await store.claimSchedule('refresh-all', 0)).toBe(true);
  });

  it('keeps the highest revision of a bucket and reads a dense history with zeros for absent buckets', async () => {
    const event = (bucketStart: string, revision: number, requests: number) => ({
      eventId: `${bucketStart}-${revision}`,
      type: 'demand.observed' as const,
      occurredAt: new Date().toISOString(),
      producedBy: 'test',
      correlationId: 'c',
      causationId: null,
      payload: { domain: 'a.example.com', region: 'eu-west-1', bucketStart, bucketSeconds: 60, revision, requests, errors: 0, bytes: requests, latencyMs: { p50: 1, p90: 1, p99: 1, max: 1 }, latencySketch: '' },
    });
    expect(await store.recordObserved(event('2014-04-10T00:00:00.000Z', 1, 5))).toBe('recorded');
    expect(await store.recordObserved(event('2014-04-10T00:03:00.000Z', 2, 7))).toBe('recorded');
    expect(await store.recordObserved(event('2014-04-10T00:03:00.000Z', 1, 3))).toBe('unchanged'); // older revision
    const history = await store.history({ domain: 'a.example.com', region: 'eu-west-1' }, 0);
    expect(history.values).toEqual([5, 0, 0, 7]);
    expect(history.timestamps[3] - history.timestamps[0]).toBe(180_000);
  });

  it('stores the exact bytesExact of an event when present (bytes is rounded past 2^53), else bytes', async () => {
    const event = (domain: string, bytes: number, bytesExact?: string) => ({
      eventId: `${domain}-bytes`,
      type: 'demand.observed' as const,
      occurredAt: new Date().toISOString(),
      producedBy: 'test',
      correlationId: 'c',
      causationId: null,
      payload: { domain, region: 'eu-west-1', bucketStart: '2014-04-10T00:00:00.000Z', bucketSeconds: 60, revision: 1, requests: 100_003, errors: 0, bytes, bytesExact, latencyMs: { p50: 1, p90: 1, p99: 1, max: 1 }, latencySketch: '' },
    });
    expect(await store.recordObserved(event('exact.example.com', Number('10000000000000003'), '10000000000000003'))).toBe('recorded');
    expect(await store.recordObserved(event('plain.example.com', 12_345))).toBe('recorded');
    const rows = await db.query(`SELECT domain, bytes::text AS bytes FROM "${schema}".observed_demand WHERE domain IN ('exact.example.com', 'plain.example.com') ORDER BY domain`);
    expect(rows).toEqual([
      { domain: 'exact.example.com', bytes: '10000000000000003' },
      { domain: 'plain.example.com', bytes: '12345' },
    ]);
  });

  it("offers a prior the daily shapes of the domain's other regions and of other domains of its app type, never its own series' or another type's", async () => {
    const shape = (peakHour: number) => Array.from({ length: 24 }, (_, h) => (h === peakHour ? 2 : 1));
    await store.saveForecastRun({ domain: 'borrower.example.com', region: 'eu-west-1' }, { dailyShape: { appType: 'webapp', shape: shape(1), days: 3 } });
    await store.saveForecastRun({ domain: 'borrower.example.com', region: 'us-east-1' }, { dailyShape: { appType: 'webapp', shape: shape(2), days: 2 } });
    await store.saveForecastRun({ domain: 'same-type.example.com', region: 'ap-northeast-1' }, { dailyShape: { appType: 'webapp', shape: shape(3), days: 5 } });
    await store.saveForecastRun({ domain: 'other-type.example.com', region: 'eu-west-1' }, { dailyShape: { appType: 'api', shape: shape(4), days: 9 } });
    const borrowed = await store.borrowableShapes({ domain: 'borrower.example.com', region: 'eu-west-1' }, 'webapp');
    const peaks = borrowed.map((b) => ({ peakHour: b.shape.indexOf(2), days: b.days })).sort((a, b) => a.peakHour - b.peakHour);
    expect(peaks).toEqual([
      { peakHour: 2, days: 2 },
      { peakHour: 3, days: 5 },
    ]);
  });

  it('reads history across the roll-up: hourly buckets older than the roll-up age spread over their minutes, totals exact; a revision of a rolled-up day is refused', async () => {
    const DAY = 86_400_000;
    const D = Date.UTC(2026, 0, 20);
    const key = { domain: 'rolled.example.com', region: 'eu-west-1' };
    const event = (startMs: number, revision: number, requests: number, p50: number) => ({
      eventId: `rolled-${startMs}-${revision}`,
      type: 'demand.observed' as const,
      occurredAt: new Date().toISOString(),
      producedBy: 'test',
      correlationId: 'c',
      causationId: null,
      payload: { ...key, bucketStart: new Date(startMs).toISOString(), bucketSeconds: 60, revision, requests, errors: 0, bytes: requests * 10, latencyMs: { p50, p90: 1, p99: 1, max: 1 }, latencySketch: '' },
    });
    // Minutes :00..:09 of 06:00 each day, D-6..D; each day's requests differ.
    const sent: Array<{ startMs: number; requests: number }> = [];
    for (let day = D - 6 * DAY; day <= D; day += DAY)
      for (let m = 0; m < 10; m++) {
        const startMs = day + 6 * 3_600_000 + m * 60_000;
        const requests = 1 + ((day / DAY) % 7) * 10 + m;
        sent.push({ startMs, requests });
        expect(await store.recordObserved(event(startMs, 1, requests, 20 + m))).toBe('recorded'); // each day's partition is made on demand
      }
    const before = await store.history(key, D - 30 * DAY);
    // Totals summed in bucket order, as the row-per-bucket read did in JS.
    let weighted = 0;
    for (const b of sent) weighted += (20 + ((b.startMs - D) / 60_000 - 6 * 60 + 10 * 1440) % 1440) * b.requests;
    expect(before.requests).toBe(sent.reduce((a, b) => a + b.requests, 0));
    expect(before.bytes).toBe(10 * before.requests);
    expect(before.latencyMs).toBe(weighted / before.requests);

    const partitions = new PostgresHistoryPartitions(db, observedDemandTables(schema));
    const report = await runHistoryJob(partitions, { createAheadDays: 1, rollUpAfterDays: 3, retainDays: 30 }, D + 10 * 3_600_000);
    expect(report).toMatchObject({ skipped: false, rollUp: [D - 6 * DAY, D - 5 * DAY, D - 4 * DAY] });
    const [{ hours }] = await db.query(`SELECT count(*)::int AS hours FROM "${schema}".observed_demand_hourly WHERE domain = $1`, [key.domain]);
    expect(hours).toBe(3);

    const after = await store.history(key, D - 30 * DAY);
    // The same totals (requests, bytes, request-weighted latency) and the same span, on a minute grid.
    expect([after.requests, after.bytes]).toEqual([before.requests, before.bytes]);
    expect(after.latencyMs).toBeCloseTo(before.latencyMs, 9);
    expect(after.requests).toBe(sent.reduce((a, b) => a + b.requests, 0));
    expect(after.timestamps[0]).toBe(D - 6 * DAY + 6 * 3_600_000);
    expect(after.timestamps.every((t, i) => t === after.timestamps[0] + i * 60_000)).toBe(true);
    // A rolled-up hour: its total spread evenly over its 60 minutes; the minutes after the roll-up age as they were.
    const hourOf = (day: number) => sent.filter((b) => b.startMs >= day + 6 * 3_600_000 && b.startMs < day + 7 * 3_600_000).reduce((a, b) => a + b.requests, 0);
    expect(after.values.slice(0, 60)).toEqual(new Array(60).fill(hourOf(D - 6 * DAY) / 60));
    const recent = (t: number) => after.values[(t - after.timestamps[0]) / 60_000];
    for (const b of sent.filter((x) => x.startMs >= D - 3 * DAY)) expect(recent(b.startMs)).toBe(b.requests);
    expect(after.values.slice(-10)).toEqual(before.values.slice(-10));

    // A later revision of a rolled-up minute would be added to its hour twice: refused, said so.
    expect(await store.recordObserved(event(D - 5 * DAY + 6 * 3_600_000, 2, 1_000, 1))).toBe('rolled-up');
    expect((await store.history(key, D - 30 * DAY)).requests).toBe(after.requests);
    // Revisions after the roll-up mark are recorded as before.
    expect(await store.recordObserved(event(D + 6 * 3_600_000, 2, 1_000, 1))).toBe('recorded');
    expect((await store.seriesState(key)).latestBucketMs).toBe(D + 6 * 3_600_000 + 9 * 60_000);
    expect(await store.seriesKeys(key.domain)).toEqual([key]);
  });
});
