import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DemandForecast } from '@shardcast/contracts';
import { ForecastWorkerPool, ModelSelection, QuantileKeys } from '@shardcast/forecasting';
import { MarketMap, parseCountryCentroids, parseRegionTable } from '@shardcast/geo';
import { createLogger, createServiceDataSource, daysOf, openServiceDatabase, OutboxMessage, OutboxRelay, PostgresHistoryPartitions } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { DataSource } from 'typeorm';
import { ForecasterConfig, ForecasterConfigSchema } from '../src/forecaster.config';
import { ForecastRunner } from '../src/forecasting/forecast-runner';
import { ForecastScheduler } from '../src/forecasting/forecast-scheduler';
import { ForecasterStore } from '../src/persistence/forecaster-store';
import { forecasterMigrations } from '../src/persistence/migrations';
import { observedDemandTables } from '../src/persistence/observed-demand-tables';

jest.setTimeout(180_000);

const STEP_MS = 300_000;
const DAYS = 3;
const REPO = resolve(__dirname, '../../..');

/**
 * The scheduled pass in tiers (docs/decisions/0032-forecast-tiers.md) through the service's own
 * scheduler, runner and store on the real database: the heaviest series gets full model
 * selection, the tail the pooled tier with calibrated quantiles, and a series that grows takes
 * the full tier's place.
 */
describe('forecaster tiers against the real database', () => {
  const schema = uniqueName('forecaster_tiers');
  let db: DataSource;
  let store: ForecasterStore;
  let pool: ForecastWorkerPool;
  let scheduler: ForecastScheduler;
  let runner: ForecastRunner;
  /** Another runner over the same store, with no proactive-gate replays left in any pass. */
  let noReplays: ForecastRunner;
  /** Events the pooled batches handed to the relay, per batch, and the events themselves. */
  const handedOver: number[] = [];
  const sent: OutboxMessage[] = [];
  const lastBucket = Math.floor(Date.now() / STEP_MS) * STEP_MS - STEP_MS;
  const firstBucket = lastBucket - (DAYS * 288 - 1) * STEP_MS;

  /** 5-minute buckets over DAYS days with a daily shape and `mean` requests per bucket (deterministic, integer). */
  async function storeSeries(domain: string, region: string, mean: number): Promise<void> {
    await db.query(
      `INSERT INTO "${schema}".observed_demand (domain, region, bucket_start, bucket_seconds, revision, requests, errors, bytes, latency_p50_ms, event_id)
       SELECT $1, $2, to_timestamp(t / 1000.0), 300, 1, r, 0, r * 4000, 40, 'test'
       FROM generate_series($3::bigint, $4::bigint, 300000) AS t,
            LATERAL (SELECT floor($5 * (1 + 0.6 * sin(2 * pi() * (t % 86400000) / 86400000.0)) + ((t / 300000) % 3) * 0.5)::bigint AS r) v
       ON CONFLICT (domain, region, bucket_start) DO UPDATE SET requests = excluded.requests, revision = ${schema}.observed_demand.revision + 1`,
      [domain, region, firstBucket, lastBucket, mean],
    );
    await db.query(`INSERT INTO "${schema}".known_series (domain, region) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [domain, region]);
  }

  const forecastOf = async (domain: string): Promise<DemandForecast> => (await store.forecasts(domain))[0];
  const tiers = async (): Promise<Record<string, string>> =>
    Object.fromEntries((await db.query(`SELECT domain, tier FROM "${schema}".series_tiers`)).map((r: { domain: string; tier: string }) => [r.domain, r.tier]));

  beforeAll(async () => {
    const env = stackEnv();
    db = await openServiceDatabase(createServiceDataSource({ url: env.DATABASE_URL, schema, migrations: forecasterMigrations }), schema);
    const partitions = new PostgresHistoryPartitions(db, observedDemandTables(schema));
    await partitions.ensureMinuteDays(daysOf(Array.from({ length: DAYS + 2 }, (_, d) => lastBucket - d * 86_400_000)));
    store = new ForecasterStore(db, schema, partitions);
    const config = ForecasterConfigSchema.parse({
      ...env,
      FORECASTER_DB_SCHEMA: schema,
      FORECAST_FULL_TIER_SERIES: '1',
      FORECAST_HORIZON_HOURS: '12',
      FORECAST_SELECTION_ORIGINS: '2',
      FORECAST_WORKERS: '1',
      // Every re-forecast is published (not only one that moved), so the stored one is the last run's.
      FORECAST_PUBLISH_MAX_AGE_MS: '0',
      FORECAST_REGIONS_FILE: resolve(REPO, 'data/regions/awsData.js'),
      FORECAST_COUNTRIES_FILE: resolve(REPO, 'data/countries/centroids.csv'),
    });
    pool = new ForecastWorkerPool({ size: 1 });
    const markets = new MarketMap(parseRegionTable(readFileSync(config.FORECAST_REGIONS_FILE, 'utf8')), parseCountryCentroids(readFileSync(config.FORECAST_COUNTRIES_FILE, 'utf8')));
    const relay = {
      kick: () => undefined,
      publishWritten: (messages: OutboxMessage[]) => {
        handedOver.push(messages.length);
        sent.push(...messages);
      },
    } as unknown as OutboxRelay;
    const logger = createLogger('forecaster', 'warn');
    runner = new ForecastRunner(store, pool, relay, markets, config, logger);
    noReplays = new ForecastRunner(store, pool, relay, markets, { ...config, FORECAST_GATES_PER_PASS: 0 } satisfies ForecasterConfig, logger);
    scheduler = new ForecastScheduler(runner, store, 60_000, 3_600_000, logger, 4, 300);
    // One heavy series and 30 light ones of one volume band (1–10 requests per step): enough
    // holdouts for the pooled calibration of that band.
    await storeSeries('heavy.example.com', 'eu-west-1', 400);
    for (let i = 0; i < 30; i++) await storeSeries(`light${String(i).padStart(2, '0')}.example.com`, 'eu-west-1', 2 + (i % 5));
  });
  afterAll(async () => {
    await scheduler?.stop();
    await pool?.close();
    await db?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db?.destroy();
  });

  it('selects a model for the heaviest series only, forecasts the tail pooled and calibrated, and moves a series that grows into the full tier', async () => {
    await scheduler.refreshAll();
    const first = await tiers();
    expect(Object.values(first).filter((t) => t === 'full')).toHaveLength(1);
    expect(first['heavy.example.com']).toBe('full');
    const heavy = await forecastOf('heavy.example.com');
    expect(heavy.model.name).not.toBe('pooled');
    expect(heavy.model.mase).not.toBeNull();
    const selections = await db.query(`SELECT domain FROM "${schema}".model_selections`);
    expect(selections.map((r: { domain: string }) => r.domain)).toEqual(['heavy.example.com']);

    const light = await forecastOf('light03.example.com');
    expect(light.model.name).toBe('pooled');
    // Calibrated in the first pass already: the pooled tier learnt from a sample before it.
    expect(light.confidence).toBe('high');
    expect(light.steps).toBe(144);
    for (let h = 0; h < light.steps; h++) for (let q = 1; q < QuantileKeys.length; q++) expect(light.requests[QuantileKeys[q]][h]).toBeGreaterThanOrEqual(light.requests[QuantileKeys[q - 1]][h]);
    const p50 = light.requests.p50.reduce((a, b) => a + b, 0) * light.unit / light.steps;
    expect(p50).toBeGreaterThan(2);
    expect(p50).toBeLessThan(10);
    // The pooled batch sent its 30 events itself (publishWritten), not left to the poll.
    expect(handedOver).toEqual([30]);
    // What it stored is the payload of the event it sent (cut from the event's text).
    expect(light).toEqual(JSON.parse(sent.find((m) => m.key === 'light03.example.com')!.payload).payload);
    const [{ state }] = await db.query(`SELECT state FROM "${schema}".pooled_tier`);
    expect(state.series).toBe(30);
    expect(state.shapes.api).toHaveLength(24);

    // light07 grows to 10× the heavy one: its next run records the volume, the pass after ranks it first.
    await storeSeries('light07.example.com', 'eu-west-1', 4000);
    await scheduler.refreshAll();
    await scheduler.refreshAll();
    const moved = await tiers();
    expect(moved['light07.example.com']).toBe('full');
    expect(moved['heavy.example.com']).toBe('pooled');
    expect((await forecastOf('light07.example.com')).model.name).not.toBe('pooled');
    expect((await forecastOf('heavy.example.com')).model.name).toBe('pooled');

    // One series asked for between passes (a refresh) takes its tier's path alone, as a pass's batch does.
    const event = await runner.run({ domain: 'light03.example.com', region: 'eu-west-1' }, null, 'requested');
    expect(event?.payload).toMatchObject({ kind: 'forecast', model: { name: 'pooled' }, confidence: 'high', reason: 'requested' });
  });

  it('replays the proactive gate within FORECAST_GATES_PER_PASS; a re-selection runs on the verdict before it until its own replay is stored', async () => {
    const key = { domain: 'light07.example.com', region: 'eu-west-1' };
    const selectionOf = async (): Promise<ModelSelection> => (await db.query(`SELECT selection FROM "${schema}".model_selections WHERE domain = $1 AND region = $2`, [key.domain, key.region]))[0].selection;
    // Full since the passes above, with three days of history: its selection was replayed on the last two.
    const gated = await selectionOf();
    expect(gated.gate).toMatchObject({ days: 2, of: gated.selectedAt });
    expect(gated.forecastOnly).toBe(!gated.gate!.proactive);

    // Its selection falls due; a pass with no replays left re-selects and keeps the verdict it had.
    const dayAgo = new Date(Date.now() - 25 * 3_600_000).toISOString();
    await db.query(`UPDATE "${schema}".model_selections SET selection = jsonb_set(selection, '{selectedAt}', to_jsonb($3::text)) WHERE domain = $1 AND region = $2`, [key.domain, key.region, dayAgo]);
    const event = await noReplays.run(key, null, 'requested');
    const reselected = await selectionOf();
    expect(Date.parse(reselected.selectedAt)).toBeGreaterThan(Date.parse(dayAgo));
    expect(reselected.gate).toEqual(gated.gate); // `of` names the earlier selection
    expect(event?.payload).toMatchObject({ kind: 'forecast', forecastOnly: reselected.forecastOnly, model: { selectedAt: reselected.selectedAt } });

    // The next pass has replays left: the new selection gets its own verdict.
    await scheduler.refreshAll();
    const regated = await selectionOf();
    expect(regated.selectedAt).toBe(reselected.selectedAt);
    expect(regated.gate?.of).toBe(reselected.selectedAt);
  });
});
