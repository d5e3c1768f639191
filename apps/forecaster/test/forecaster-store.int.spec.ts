import { createServiceDataSource, openServiceDatabase } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { DataSource } from 'typeorm';
import { forecasterMigrations } from '../src/persistence/migrations';
import { ForecasterStore } from '../src/persistence/forecaster-store';

describe('ForecasterStore against the real database', () => {
  const schema = uniqueName('forecaster_store');
  let db: DataSource;
  let store: ForecasterStore;

  beforeAll(async () => {
    db = await openServiceDatabase(createServiceDataSource({ url: stackEnv().DATABASE_URL, schema, migrations: forecasterMigrations }), schema);
    store = new ForecasterStore(db, schema);
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
    expect(await store.recordObserved(event('2014-04-10T00:00:00.000Z', 1, 5))).toBe(true);
    expect(await store.recordObserved(event('2014-04-10T00:03:00.000Z', 2, 7))).toBe(true);
    expect(await store.recordObserved(event('2014-04-10T00:03:00.000Z', 1, 3))).toBe(false); // older revision
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
    expect(await store.recordObserved(event('exact.example.com', Number('10000000000000003'), '10000000000000003'))).toBe(true);
    expect(await store.recordObserved(event('plain.example.com', 12_345))).toBe(true);
    const rows = await db.query(`SELECT domain, bytes::text AS bytes FROM "${schema}".observed_demand WHERE domain IN ('exact.example.com', 'plain.example.com') ORDER BY domain`);
    expect(rows).toEqual([
      { domain: 'exact.example.com', bytes: '10000000000000003' },
      { domain: 'plain.example.com', bytes: '12345' },
    ]);
  });

  it("offers a prior the daily shapes of the domain's other regions and of other domains of its app type, never its own series' or another type's", async () => {
    const shape = (peakHour: number) => Array.from({ length: 24 }, (_, h) => (h === peakHour ? 2 : 1));
    await store.saveDailyShape({ domain: 'borrower.example.com', region: 'eu-west-1' }, 'webapp', { shape: shape(1), days: 3 });
    await store.saveDailyShape({ domain: 'borrower.example.com', region: 'us-east-1' }, 'webapp', { shape: shape(2), days: 2 });
    await store.saveDailyShape({ domain: 'same-type.example.com', region: 'ap-northeast-1' }, 'webapp', { shape: shape(3), days: 5 });
    await store.saveDailyShape({ domain: 'other-type.example.com', region: 'eu-west-1' }, 'api', { shape: shape(4), days: 9 });
    const borrowed = await store.borrowableShapes({ domain: 'borrower.example.com', region: 'eu-west-1' }, 'webapp');
    const peaks = borrowed.map((b) => ({ peakHour: b.shape.indexOf(2), days: b.days })).sort((a, b) => a.peakHour - b.peakHour);
    expect(peaks).toEqual([
      { peakHour: 2, days: 2 },
      { peakHour: 3, days: 5 },
    ]);
  });
});
