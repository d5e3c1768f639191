import { DataSource } from 'typeorm';
import { createServiceDataSource, openServiceDatabase } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { forecasterMigrations } from '../src/persistence/migrations';

describe('forecaster migrations (real PostgreSQL)', () => {
  const schema = uniqueName('forecaster_migr_t');
  const sources: DataSource[] = [];
  afterAll(async () => {
    await sources[0]?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await Promise.all(sources.map((s) => (s.isInitialized ? s.destroy() : undefined)));
  });

  it('partitions observed_demand by day keeping every row as it was, and keeps stored forecasts as json', async () => {
    const { DATABASE_URL } = stackEnv();
    const before = createServiceDataSource({ url: DATABASE_URL, schema, migrations: forecasterMigrations.slice(0, 3), poolSize: 2 });
    sources.push(before);
    await openServiceDatabase(before, schema);
    const starts = ['2014-04-09T23:59:00.000Z', '2014-04-10T00:00:00.000Z', '2026-12-02T08:30:00.000Z'];
    for (const [i, start] of starts.entries()) {
      await before.query(
        `INSERT INTO "${schema}".observed_demand (domain, region, bucket_start, bucket_seconds, revision, requests, errors, bytes, latency_p50_ms, event_id)
         VALUES ('a.example.com', 'eu-west-1', $1, 60, $2, $3, 0, $4, 12.5, $5)`,
        [start, i + 1, 10 + i, (2n ** 62n + BigInt(i)).toString(), `e${i}`],
      );
    }
    const read = (s: DataSource) => s.query(`SELECT *, bytes::text AS bytes FROM "${schema}".observed_demand ORDER BY bucket_start`);
    const rows = await read(before);
    const payload = { kind: 'forecast', steps: 2, requests: { p50: [1, 20] }, unit: 0.01 };
    await before.query(`INSERT INTO "${schema}".forecasts (domain, region, generated_at, event_id, payload) VALUES ('a.example.com', 'eu-west-1', now(), 'f1', $1)`, [JSON.stringify(payload)]);

    const after = createServiceDataSource({ url: DATABASE_URL, schema, migrations: forecasterMigrations, poolSize: 2 });
    sources.push(after);
    await openServiceDatabase(after, schema);
    expect(await read(after)).toEqual(rows);
    const partitions = await after.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass AND c.relkind = 'r' ORDER BY 1`,
      [`"${schema}".observed_demand`],
    );
    expect(partitions.map((p: { name: string }) => p.name)).toEqual(['observed_demand_20140409', 'observed_demand_20140410', 'observed_demand_20261202']);
    // A stored forecast's payload is json now (stored as written, not parsed into jsonb), the same object.
    expect(await after.query(`SELECT payload, pg_typeof(payload)::text AS type FROM "${schema}".forecasts`)).toEqual([{ payload, type: 'json' }]);
    // known_series (the scheduler's list of series) is filled from the history already stored.
    expect(await after.query(`SELECT domain, region FROM "${schema}".known_series`)).toEqual([{ domain: 'a.example.com', region: 'eu-west-1' }]);
  });
});
