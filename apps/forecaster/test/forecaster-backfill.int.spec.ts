import { resolve } from 'node:path';
import { Client } from 'pg';
import { contractTopicSpecs } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';

jest.setTimeout(180_000);

describe('forecaster backfill from ingest contract view', () => {
  const env = stackEnv();
  const db = new Client({ connectionString: env.DATABASE_URL });
  const viewSchema = uniqueName('ingest_view_t');
  const schema = uniqueName('forecaster_bf');
  const prefix = `${uniqueName('bf')}.`;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    await db.connect();
    // The columns ingest documents for its read-only view `demand_history`.
    await db.query(`CREATE SCHEMA "${viewSchema}"`);
    await db.query(
      `CREATE TABLE "${viewSchema}".demand_history (domain text, region text, bucket_start timestamptz, requests bigint, errors bigint, bytes bigint, closed boolean, bucket_seconds integer)`,
    );
    await db.query(
      `INSERT INTO "${viewSchema}".demand_history
       SELECT 'backfilled.example.com', 'eu-west-1', t, (100 + 60 * sin(extract(epoch from t) / 86400 * 2 * pi()))::bigint, 0, 1000, true, 60
       FROM generate_series(timestamptz '2014-04-01', timestamptz '2014-04-04' - interval '1 minute', interval '1 minute') AS t`,
    );
    // A week before those, hours ingest had rolled up (docs/decisions/0023-bounded-demand-history.md).
    await db.query(
      `INSERT INTO "${viewSchema}".demand_history
       SELECT 'backfilled.example.com', 'eu-west-1', t, 60 * (100 + 60 * sin(extract(epoch from t) / 86400 * 2 * pi()))::bigint, 0, 60000, true, 3600
       FROM generate_series(timestamptz '2014-03-25', timestamptz '2014-04-01' - interval '1 hour', interval '1 hour') AS t`,
    );
    await ensureTopics(createKafka(env.KAFKA_BROKERS.split(','), 'bf-test'), contractTopicSpecs(), 3, prefix);
  });

  afterAll(async () => {
    await service?.kill('SIGTERM');
    await db.query(`DROP SCHEMA IF EXISTS "${viewSchema}" CASCADE`);
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('copies the history at start-up and forecasts it without waiting for new events', async () => {
    service = new ServiceProcess(resolve(__dirname, '../dist/src/main.js'), {
      ...env,
      HTTP_PORT: '0',
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_PREFIX: uniqueName('bfg'),
      FORECASTER_DB_SCHEMA: schema,
      FORECASTER_BACKFILL_VIEW: `${viewSchema}.demand_history`,
      FORECAST_DEBOUNCE_MS: '100',
      FORECAST_HORIZON_HOURS: '6',
      FORECAST_SELECTION_ORIGINS: '2',
    }).start();
    const backfilled = await service.waitForMessage('history backfilled');
    expect(backfilled.buckets).toBe(3 * 1440 + 7 * 24);
    const [hours] = (await db.query(`SELECT count(*)::int AS n, sum(requests)::bigint AS requests FROM "${schema}".observed_demand_hourly`)).rows;
    const [sent] = (await db.query(`SELECT sum(requests)::bigint AS requests FROM "${viewSchema}".demand_history WHERE bucket_seconds = 3600`)).rows;
    expect(hours).toEqual({ n: 7 * 24, requests: sent.requests });
    const published = await service.waitForLog((l) => l.msg === 'forecast published' && l.domain === 'backfilled.example.com', 120_000);
    expect(published.region).toBe('eu-west-1');
    const [row] = (await db.query(`SELECT payload FROM "${schema}".forecasts WHERE domain = 'backfilled.example.com'`)).rows;
    expect(row.payload.startAt).toBe('2014-04-04T00:00:00.000Z');
    expect(row.payload.requests.p50).toHaveLength(6 * 12);
  });
});
