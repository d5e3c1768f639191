/**
 * bench:scale's forecast pass (issue #20): one scheduled re-forecast of every series of
 * `--forecast-domains` domains (10,000) through the forecaster's own tiers, scheduler, runner,
 * store and outbox relay on the real stack, timed from `refreshAll()` until every series' event
 * has been read back from `demand.forecast.v1`.
 *
 * Series (built like bench/forecast-production.ts's, from the real sub-hourly shapes in `data/`):
 * domain rank r (1…D) sends 2,000 / r requests per 5 minutes in all (Zipf, s = 1) over 2, 3 or
 * 4 regions (3 on average; shares 60/30/10 % or alike), so a few heavy series and a long sparse
 * tail. Domain d's shape is base d mod B at a random phase and its application type one per base
 * (domain_profiles), so the pooled tier pools per type. Seven days of 5-minute buckets per series,
 * each count the expected value rounded at random (floor(x + u)), and only buckets with requests
 * stored, as ingest stores only buckets that saw traffic.
 *
 * The full tier (FORECAST_FULL_TIER_SERIES, `--full-series`) runs with its model selections cached,
 * as bench:forecast's production figure does (selection is the daily job, refreshed apart from the
 * pass): one per base, stored for the series ranked within the full tier's band. Nothing of the
 * pooled tier is cached: the pass ranks every series (none has a stored volume: one aggregate),
 * learns the pooled tier from a sample first (the first pass ever), and forecasts.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { contractTopicSpecs, Topics } from '@shardcast/contracts';
import { AppTypes, DAY_MS, defaultProfile, ForecastWorkerPool, HOUR_MS, inferStepMs, ModelSelection, prepareSeries, selectModel } from '@shardcast/forecasting';
import { MarketMap, parseCountryCentroids, parseRegionTable } from '@shardcast/geo';
import { createKafka, createLogger, createServiceDataSource, daysOf, EventOutboxTable, ensureTopics, openServiceDatabase, OutboxRelay, PostgresHistoryPartitions } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { forecastConcurrency, ForecasterConfigSchema, ForecasterStore, forecasterMigrations, ForecastRunner, ForecastScheduler, observedDemandTables, POOLED_WRITER_GRACE_MS } from '../apps/forecaster/src';
import { cpuTicks, csvPaths, random, readShape, timeStoreCalls } from './forecast-production';

const REPO = resolve(__dirname, '..');

export interface ForecastScaleOptions {
  domains?: number;
  /** FORECAST_FULL_TIER_SERIES (default the service's). */
  fullSeries?: number;
  data?: string;
  workers?: number;
  log?: (line: string) => void;
}

export interface ForecastScaleFigures {
  forecast_domains: number;
  series: number;
  forecast_pass_s: number;
  full_series: number;
  pooled_series: number;
  buckets: number;
  /** Proactive-gate replays the pass ran (FORECAST_GATES_PER_PASS at most: the cached selections have none yet). */
  gate_replays: number;
  /** Per series, ms: store calls (wall clock, overlapping) and CPU of this process and of PostgreSQL. */
  stages: Record<string, number>;
}

export async function runForecastScale(options: ForecastScaleOptions = {}): Promise<ForecastScaleFigures> {
  const log = options.log ?? ((line: string) => console.log(line));
  const domains = options.domains ?? 10_000;
  const env = stackEnv();
  const schema = uniqueName('bench_forecast_scale');
  const prefix = `${schema}.`;
  const config = ForecasterConfigSchema.parse({
    ...env,
    KAFKA_TOPIC_PREFIX: prefix,
    FORECASTER_DB_SCHEMA: schema,
    ...(options.workers ? { FORECAST_WORKERS: String(options.workers) } : {}),
    ...(options.fullSeries !== undefined ? { FORECAST_FULL_TIER_SERIES: String(options.fullSeries) } : {}),
    FORECAST_REGIONS_FILE: join(REPO, 'data/regions/awsData.js'),
    FORECAST_COUNTRIES_FILE: join(REPO, 'data/countries/centroids.csv'),
  });
  const stepMs = config.FORECAST_STEP_MS;
  const horizon = Math.round((config.FORECAST_HORIZON_HOURS * HOUR_MS) / stepMs);
  const keep = Math.round((7 * DAY_MS) / stepMs);
  const bases = csvPaths(options.data ?? join(REPO, 'data/series'))
    .map((path) => ({ path, raw: readShape(path) }))
    .filter(({ raw }) => raw.timestamps.length > 0 && inferStepMs(raw.timestamps) < HOUR_MS)
    .map(({ path, raw }) => {
      const values = Array.from(prepareSeries(raw, { stepMs }).grid.values.slice(-keep), (v) => Math.max(0, v));
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      return { path, values: values.map((v) => v / mean) };
    });
  if (bases.length === 0) throw new Error('no sub-hourly series in data/series');

  const logger = createLogger('forecaster', 'warn');
  const db = await openServiceDatabase(createServiceDataSource({ url: env.DATABASE_URL, schema, migrations: forecasterMigrations, poolSize: 12 }), schema);
  const kafka = createKafka(config.KAFKA_BROKERS, 'bench-forecast-scale');
  await ensureTopics(kafka, contractTopicSpecs(), config.KAFKA_TOPIC_PARTITIONS, prefix);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `${schema}-reader` });
  const pool = new ForecastWorkerPool({ size: config.FORECAST_WORKERS });
  try {
    await producer.connect();
    const lastBucket = Math.floor(Date.now() / stepMs) * stepMs - stepMs;
    const rand = random(20);
    const regions = parseRegionTable(readFileSync(config.FORECAST_REGIONS_FILE, 'utf8')).map((r) => r.id);
    const shares: Record<number, number[]> = { 2: [0.7, 0.3], 3: [0.6, 0.3, 0.1], 4: [0.5, 0.25, 0.15, 0.1] };
    const appTypes = AppTypes.slice(0, bases.length);
    const series: Array<{ domain: string; region: string; base: number; scale: number; shift: number }> = [];
    const profiles: Array<{ domain: string; app_type: string }> = [];
    for (let d = 0; d < domains; d++) {
      const domain = `d${d}.scale.example`;
      const base = d % bases.length;
      const shift = Math.floor(rand() * bases[base].values.length);
      const count = 2 + (d % 3);
      const total = 2_000 / (d + 1);
      const first = Math.floor(rand() * regions.length);
      for (let j = 0; j < count; j++) series.push({ domain, region: regions[(first + j) % regions.length], base, scale: total * shares[count][j], shift });
      profiles.push({ domain, app_type: appTypes[base % appTypes.length] });
    }
    let t = performance.now();
    const partitions = new PostgresHistoryPartitions(db, observedDemandTables(schema));
    await partitions.ensureMinuteDays(daysOf(Array.from({ length: 10 }, (_, d) => lastBucket - d * DAY_MS)));
    const q = db.createQueryRunner();
    await q.connect();
    try {
      await q.query(`CREATE TEMP TABLE bench_bases (base int PRIMARY KEY, vals float8[], n int)`);
      await q.query(`CREATE TEMP TABLE bench_series (copy int PRIMARY KEY, domain text, region text, base int, scale float8, shift int)`);
      for (const [base, b] of bases.entries()) await q.query(`INSERT INTO bench_bases VALUES ($1, $2, $3)`, [base, b.values, b.values.length]);
      for (let from = 0; from < series.length; from += 5_000) {
        await q.query(`INSERT INTO bench_series SELECT * FROM jsonb_to_recordset($1::jsonb) AS c(copy int, domain text, region text, base int, scale float8, shift int)`, [
          JSON.stringify(series.slice(from, from + 5_000).map((c, i) => ({ copy: from + i, ...c }))),
        ]);
      }
      await q.query(`SELECT setseed(0.2)`);
      for (let from = 0; from < series.length; from += 1_000) {
        await q.query(
          `INSERT INTO "${schema}".observed_demand (domain, region, bucket_start, bucket_seconds, revision, requests, errors, bytes, latency_p50_ms, event_id)
           SELECT c.domain, c.region, to_timestamp(($1::bigint - (b.n - u.i) * $2::bigint) / 1000.0), $2 / 1000, 1, v.r, 0, v.r * 4000, 40, 'bench'
           FROM (SELECT * FROM bench_series WHERE copy >= $3 AND copy < $4 ORDER BY domain, region) c JOIN bench_bases b USING (base),
                LATERAL unnest(b.vals[c.shift + 1 : b.n] || b.vals[1 : c.shift]) WITH ORDINALITY AS u(v, i),
                LATERAL (SELECT floor(u.v * c.scale + random())::bigint AS r) v
           WHERE v.r > 0`,
          [lastBucket, stepMs, from, from + 1_000],
        );
      }
      await q.query(`INSERT INTO "${schema}".known_series (domain, region) SELECT DISTINCT domain, region FROM "${schema}".observed_demand ON CONFLICT DO NOTHING`);
      await q.query(
        `INSERT INTO "${schema}".domain_profiles (domain, app_type, tier, cpu_ms, memory_mb_per_concurrent, bytes_out, latency_ms)
         SELECT p.domain, p.app_type, 'free', d.cpu_ms, d.memory_mb_per_concurrent, d.bytes_out, d.latency_ms
         FROM jsonb_to_recordset($1::jsonb) AS p(domain text, app_type text)
         JOIN jsonb_to_recordset($2::jsonb) AS d(app_type text, cpu_ms float8, memory_mb_per_concurrent float8, bytes_out float8, latency_ms float8) USING (app_type)`,
        [
          JSON.stringify(profiles),
          JSON.stringify(appTypes.map((a) => {
            const p = defaultProfile(a, 'free');
            return { app_type: a, cpu_ms: p.cpuMs, memory_mb_per_concurrent: p.memoryMbPerConcurrent, bytes_out: p.bytesOut, latency_ms: p.latencyMs };
          })),
        ],
      );
    } finally {
      await q.release();
    }
    const [{ rows, known }] = await db.query(`SELECT (SELECT count(*) FROM "${schema}".observed_demand)::bigint AS rows, (SELECT count(*) FROM "${schema}".known_series)::int AS known`);
    log(`forecast pass: stored ${rows} buckets of ${known} series (${domains} domains) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // The full tier's selections, cached as the daily job leaves them: one per base, for the series
    // within the full tier's band by construction volume.
    t = performance.now();
    const now = new Date();
    const selections: ModelSelection[] = await Promise.all(
      bases.map((b) =>
        selectModel({ timestamps: b.values.map((_, i) => lastBucket - (b.values.length - 1 - i) * stepMs), values: b.values }, { now, stepMs, horizon, origins: config.FORECAST_SELECTION_ORIGINS }, pool),
      ),
    );
    const store = new ForecasterStore(db, schema, partitions);
    const heaviest = [...series].sort((a, b) => b.scale - a.scale).slice(0, Math.ceil(config.FORECAST_FULL_TIER_SERIES * 1.1));
    for (const c of heaviest) {
      const s = selections[c.base];
      const calibrations = Object.fromEntries(Object.entries(s.calibrations).map(([k, cal]) => [k, cal && cal.floor !== undefined ? { ...cal, floor: cal.floor * c.scale } : cal]));
      await store.saveSelection(c, { ...s, calibrations });
    }
    log(`forecast pass: selections cached for the ${heaviest.length} heaviest series in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const timings = timeStoreCalls(store, ['seriesKeys', 'seriesTiers', 'recentVolumes', 'seriesState', 'history', 'borrowableShapes', 'saveForecastRun', 'pooledInputs', 'saveForecastRuns', 'savePooledTier']);
    const relay = new OutboxRelay(new EventOutboxTable(db, schema), producer, prefix, logger, { writerGraceMs: POOLED_WRITER_GRACE_MS });
    const markets = new MarketMap(parseRegionTable(readFileSync(config.FORECAST_REGIONS_FILE, 'utf8')), parseCountryCentroids(readFileSync(config.FORECAST_COUNTRIES_FILE, 'utf8')));
    const runner = new ForecastRunner(store, pool, relay, markets, config, logger);
    const scheduler = new ForecastScheduler(runner, store, config.FORECAST_DEBOUNCE_MS, config.FORECAST_INTERVAL_MS, logger, forecastConcurrency(config, pool.size));
    const expected = Number(known);
    const seen = new Set<string>();
    const models = new Map<string, number>();
    let allRead!: () => void;
    const read = new Promise<void>((r) => (allRead = r));
    await consumer.connect();
    await consumer.subscribe({ topic: prefix + Topics.demandForecast, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        // Not JSON.parse: this process also runs the forecaster, and 30,000 parses of ~10 kB compete with it.
        const text = message.value!.toString();
        const eventId = /"eventId":"([^"]+)"/.exec(text)![1];
        if (seen.has(eventId)) return;
        seen.add(eventId);
        const label = `${text.includes('"model":{"name":"pooled"') ? 'pooled' : 'full'}/${/"confidence":"(\w+)"/.exec(text)![1]}`;
        models.set(label, (models.get(label) ?? 0) + 1);
        if (seen.size === expected) allRead();
      },
    });
    await Promise.all(Array.from({ length: 12 }, () => db.query('SELECT pg_sleep(0.05)')));
    const backends: number[] = (await db.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [schema])).map((r: { pid: number }) => r.pid);
    relay.start(1_000);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const ticksBefore = cpuTicks(backends);
    await scheduler.refreshAll();
    const forecastSeconds = (performance.now() - started) / 1000;
    await Promise.race([read, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${seen.size} of ${expected} events reached the topic in 5 min`)), 300_000).unref())]);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const postgresMs = (cpuTicks(backends).postgres - ticksBefore.postgres) * 10;
    await scheduler.stop();
    await relay.stop();
    const tiers: Array<{ tier: string; n: number }> = await db.query(`SELECT tier, count(*)::int AS n FROM "${schema}".series_tiers GROUP BY tier`);
    const count = (tier: string) => tiers.find((r) => r.tier === tier)?.n ?? 0;
    const [{ gated }] = await db.query(`SELECT count(*)::int AS gated FROM "${schema}".model_selections WHERE selection ? 'gate'`);
    const stages: Record<string, number> = {
      ...Object.fromEntries(Object.entries(timings).map(([k, v]) => [`${k}_ms`, Number((['seriesKeys', 'seriesTiers', 'recentVolumes', 'savePooledTier'].includes(k) ? v.ms : v.ms / expected).toFixed(2))])),
      process_cpu_ms: Number(((cpu.user + cpu.system) / 1000 / expected).toFixed(2)),
      ...(postgresMs >= 0 ? { postgres_cpu_ms_floor: Number((postgresMs / expected).toFixed(2)) } : {}),
    };
    log(`forecast pass: per series (seriesKeys, seriesTiers, recentVolumes, savePooledTier: total ms): ${JSON.stringify(stages)}`);
    log(`forecast pass: events by tier/confidence: ${JSON.stringify(Object.fromEntries(models))}`);
    log(
      `forecast pass: ${expected} series of ${domains} domains (${count('full')} full, ${count('pooled')} pooled) re-forecast in ${forecastSeconds.toFixed(1)} s, ` +
        `all ${seen.size} events on the topic after ${seconds.toFixed(1)} s on ${pool.size} workers: ${(expected / seconds).toFixed(0)} series/s; ${gated} proactive-gate replays`,
    );
    return { forecast_domains: domains, series: expected, forecast_pass_s: Number(seconds.toFixed(2)), full_series: count('full'), pooled_series: count('pooled'), buckets: Number(rows), gate_replays: gated, stages };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await pool.close();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await db.destroy();
    const admin = kafka.admin();
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    await admin.disconnect();
  }
}

if (require.main === module) {
  // npx tsx bench/forecast-scale.ts [--domains 10000] [--full-series 500] [--workers N]: the pass alone (bench:scale runs it after ingest).
  void (async () => {
    const { parseArgs } = await import('node:util');
    const { values: args } = parseArgs({ options: { domains: { type: 'string', default: '10000' }, 'full-series': { type: 'string' }, workers: { type: 'string' } } });
    const { loadavg } = await import('node:os');
    const loadBefore = loadavg()[0];
    const figures = await runForecastScale({ domains: Number(args.domains), fullSeries: args['full-series'] ? Number(args['full-series']) : undefined, workers: args.workers ? Number(args.workers) : undefined });
    console.log(JSON.stringify({ bench: 'forecast-scale', ...figures, load_before: Number(loadBefore.toFixed(2)), load_after: Number(loadavg()[0].toFixed(2)) }));
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
