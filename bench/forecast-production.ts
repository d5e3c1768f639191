/**
 * bench:forecast's production figures: the forecaster's scheduled re-forecast of 10,000 series
 * through the service's own ForecastScheduler, ForecastRunner, ForecasterStore and outbox relay,
 * on the real stack (PostgreSQL and Kafka), with every series' model selection cached.
 *
 * Series: every CSV under `--data` whose native step is under one hour (the service forecasts
 * 5-minute buckets; a daily series has no day to copy) is put on the service's 5-minute grid and
 * its last `days` days kept. Series i is base i mod B, scaled by a factor log-uniform in [1, 100]
 * and rotated by a random number of 5-minute steps (its day starts at another hour, as in another
 * region), so the shapes are the real ones at other sizes and phases. 10,000 series are 2,000
 * domains × 5 regions, each stored as `demand.observed.v1` history would be (ending at the last
 * whole bucket before now), in a schema and topic prefix of the run's own (dropped afterwards).
 *
 * Selection cached: each base's model is selected once, as the scheduled job would on its history,
 * and stored for its copies (the scaled calibration's floor scaled with the copy), fresh, so the
 * run fits the selected model, calibrates, stores the forecast and its outbox event, and the relay
 * sends it: the service's production path. Timed from `refreshAll()` until every series' event has
 * been read back from `demand.forecast.v1`.
 *
 * bytes_per_event: the mean size of those events as Kafka carries them (uncompressed JSON with
 * its envelope), over the run.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { contractTopicSpecs, Topics } from '@shardcast/contracts';
import { DAY_MS, ForecastWorkerPool, HOUR_MS, inferStepMs, ModelSelection, prepareSeries, selectModel } from '@shardcast/forecasting';
import { MarketMap, parseCountryCentroids, parseRegionTable } from '@shardcast/geo';
import { createKafka, createLogger, createServiceDataSource, daysOf, EventOutboxTable, ensureTopics, openServiceDatabase, OutboxRelay, PostgresHistoryPartitions } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { forecastConcurrency, ForecasterConfigSchema, ForecasterStore, forecasterMigrations, ForecastRunner, ForecastScheduler, observedDemandTables } from '../apps/forecaster/src';

export interface ProductionOptions {
  /** Folder of `timestamp,value` CSVs (bench:forecast's `--data`). */
  data: string;
  series?: number;
  regionsPerDomain?: number;
  /** History kept per series (default 14: the length of the shortest 5-minute series in data/series). */
  days?: number;
  workers?: number;
  /** FORECAST_CONCURRENCY (default the service's). */
  concurrency?: number;
  log?: (line: string) => void;
}

export interface ProductionFigures {
  production_series_per_s: number;
  bytes_per_event: number;
  production_series: number;
  production_s: number;
  /** Per series, ms: store calls (wall clock, overlapping), worker time per model kind, and CPU of this process (event loop + workers). */
  stages?: Record<string, number>;
}

const REPO = resolve(__dirname, '..');

/** A CSV's first time column and its `value` column (else the first other column). */
export function readShape(path: string): { timestamps: number[]; values: number[] } {
  const [head, ...rows] = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  const names = head.split(',').map((h) => h.trim().toLowerCase());
  const time = Math.max(0, names.findIndex((h) => ['timestamp', 'date', 'time'].includes(h)));
  const value = names.includes('value') ? names.indexOf('value') : time === 0 ? 1 : 0;
  const timestamps: number[] = [];
  const values: number[] = [];
  for (const row of rows) {
    const cells = row.split(',');
    const t = Date.parse(`${cells[time].trim().replace(' ', 'T')}Z`);
    if (Number.isFinite(t)) {
      timestamps.push(t);
      values.push(Number(cells[value]));
    }
  }
  return { timestamps, values };
}

export function csvPaths(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => (statSync(join(dir, f)).isDirectory() ? csvPaths(join(dir, f)) : f.toLowerCase().endsWith('.csv') ? [join(dir, f)] : []));
}

/** Deterministic, so two runs store the same series. */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

export async function runProductionBenchmark(options: ProductionOptions): Promise<ProductionFigures> {
  const log = options.log ?? ((line: string) => console.log(line));
  const seriesCount = options.series ?? 10_000;
  const regionsPerDomain = options.regionsPerDomain ?? 5;
  const env = stackEnv();
  const schema = uniqueName('bench_forecast_production');
  const prefix = `${schema}.`;
  const config = ForecasterConfigSchema.parse({
    ...env,
    KAFKA_TOPIC_PREFIX: prefix,
    FORECASTER_DB_SCHEMA: schema,
    ...(options.workers ? { FORECAST_WORKERS: String(options.workers) } : {}),
    ...(options.concurrency ? { FORECAST_CONCURRENCY: String(options.concurrency) } : {}),
    // Every series in the full tier: this figure is the full path's throughput (bench:scale measures the tiers).
    FORECAST_FULL_TIER_SERIES: String(seriesCount),
    FORECAST_REGIONS_FILE: join(REPO, 'data/regions/awsData.js'),
    FORECAST_COUNTRIES_FILE: join(REPO, 'data/countries/centroids.csv'),
  });
  const stepMs = config.FORECAST_STEP_MS;
  const horizon = Math.round((config.FORECAST_HORIZON_HOURS * HOUR_MS) / stepMs);
  const keep = Math.round(((options.days ?? 14) * DAY_MS) / stepMs);

  const bases = csvPaths(options.data)
    .map((path) => ({ path, raw: readShape(path) }))
    .filter(({ raw }) => raw.timestamps.length > 0 && inferStepMs(raw.timestamps) < HOUR_MS)
    .map(({ path, raw }) => ({ path, values: Array.from(prepareSeries(raw, { stepMs }).grid.values.slice(-keep), (v) => Math.max(0, v)) }));
  if (bases.length === 0) throw new Error(`no sub-hourly series in ${options.data}`);
  log(`production: ${seriesCount} series from ${bases.length} real shapes (${bases.map((b) => `${b.path.split('/').pop()} ${b.values.length}`).join(', ')} 5-minute buckets)`);

  const logger = createLogger('forecaster', 'warn');
  const db = await openServiceDatabase(createServiceDataSource({ url: env.DATABASE_URL, schema, migrations: forecasterMigrations, poolSize: 12 }), schema);
  const kafka = createKafka(config.KAFKA_BROKERS, 'bench-forecast-production');
  await ensureTopics(kafka, contractTopicSpecs(), config.KAFKA_TOPIC_PARTITIONS, prefix);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `${schema}-reader` });
  const pool = new ForecastWorkerPool({ size: config.FORECAST_WORKERS });
  try {
    await producer.connect();
    const lastBucket = Math.floor(Date.now() / stepMs) * stepMs - stepMs;
    const rand = random(15);
    const regions = parseRegionTable(readFileSync(config.FORECAST_REGIONS_FILE, 'utf8')).map((r) => r.id);
    const copies = Array.from({ length: seriesCount }, (_, i) => ({
      domain: `d${Math.floor(i / regionsPerDomain)}.bench.example`,
      region: regions[i % regionsPerDomain % regions.length],
      base: i % bases.length,
      scale: 10 ** (2 * rand()),
      shift: Math.floor(rand() * bases[i % bases.length].values.length),
    }));

    let t = performance.now();
    // observed_demand is partitioned by day (docs/decisions/0023): the copies' days first.
    const partitions = new PostgresHistoryPartitions(db, observedDemandTables(schema));
    const longest = Math.max(...bases.map((b) => b.values.length));
    await partitions.ensureMinuteDays(daysOf(Array.from({ length: Math.ceil((longest * stepMs) / DAY_MS) + 2 }, (_, d) => lastBucket - d * DAY_MS)));
    const q = db.createQueryRunner();
    await q.connect();
    try {
      await q.query(`CREATE TEMP TABLE bench_bases (base int PRIMARY KEY, vals float8[], n int)`);
      await q.query(`CREATE TEMP TABLE bench_copies (copy int PRIMARY KEY, domain text, region text, base int, scale float8, shift int)`);
      for (const [base, b] of bases.entries()) await q.query(`INSERT INTO bench_bases VALUES ($1, $2, $3)`, [base, b.values, b.values.length]);
      await q.query(`INSERT INTO bench_copies SELECT * FROM jsonb_to_recordset($1::jsonb) AS c(copy int, domain text, region text, base int, scale float8, shift int)`, [
        JSON.stringify(copies.map((c, copy) => ({ copy, ...c }))),
      ]);
      // In chunks of copies, each rotated by slicing its base's array once, in key order (a sort of
      // all 40M rows spilled to disk for many minutes). ~5 KB and 40 ms per request, so the profile
      // the runner learns from history is a plausible one.
      for (let from = 0; from < copies.length; from += 500) {
        await q.query(
          `INSERT INTO "${schema}".observed_demand (domain, region, bucket_start, bucket_seconds, revision, requests, errors, bytes, latency_p50_ms, event_id)
           SELECT c.domain, c.region, to_timestamp(($1::bigint - (b.n - u.i) * $2::bigint) / 1000.0), $2 / 1000, 1, v.r, 0, v.r * 5000, 40, 'bench'
           FROM (SELECT * FROM bench_copies WHERE copy >= $3 AND copy < $4 ORDER BY domain, region) c JOIN bench_bases b USING (base),
                LATERAL unnest(b.vals[c.shift + 1 : b.n] || b.vals[1 : c.shift]) WITH ORDINALITY AS u(v, i),
                LATERAL (SELECT round(u.v * c.scale)::bigint AS r) v`,
          [lastBucket, stepMs, from, from + 500],
        );
      }
      // What recordObserved writes beside a series' first bucket: the series is known.
      await q.query(`INSERT INTO "${schema}".known_series (domain, region) SELECT DISTINCT domain, region FROM bench_copies ON CONFLICT DO NOTHING`);
    } finally {
      await q.release();
    }
    const [{ rows }] = await db.query(`SELECT count(*)::bigint AS rows FROM "${schema}".observed_demand`);
    log(`production: stored ${rows} buckets in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    t = performance.now();
    const now = new Date();
    const selections: ModelSelection[] = await Promise.all(
      bases.map((b) =>
        selectModel(
          { timestamps: b.values.map((_, i) => lastBucket - (b.values.length - 1 - i) * stepMs), values: b.values },
          { now, stepMs, horizon, origins: config.FORECAST_SELECTION_ORIGINS },
          pool,
        ),
      ),
    );
    const store = new ForecasterStore(db, schema, partitions);
    for (const c of copies) {
      const s = selections[c.base];
      const calibrations = Object.fromEntries(Object.entries(s.calibrations).map(([k, cal]) => [k, cal && cal.floor !== undefined ? { ...cal, floor: cal.floor * c.scale } : cal]));
      await store.saveSelection(c, { ...s, calibrations });
    }
    log(`production: selected ${selections.map((s, i) => `${bases[i].path.split('/').pop()}→${s.model}`).join(', ')} in ${((performance.now() - t) / 1000).toFixed(1)} s (cached for every copy)`);

    const timings = timeStoreCalls(store, ['seriesKeys', 'seriesState', 'seriesStates', 'history', 'histories', 'borrowableShapes', 'saveForecastRun']);
    const relay = new OutboxRelay(new EventOutboxTable(db, schema), producer, prefix, logger);
    const markets = new MarketMap(parseRegionTable(readFileSync(config.FORECAST_REGIONS_FILE, 'utf8')), parseCountryCentroids(readFileSync(config.FORECAST_COUNTRIES_FILE, 'utf8')));
    const runner = new ForecastRunner(store, pool, relay, markets, config, logger);
    const scheduler = new ForecastScheduler(runner, store, config.FORECAST_DEBOUNCE_MS, config.FORECAST_INTERVAL_MS, logger, forecastConcurrency(config, pool.size));

    const seen = new Set<string>();
    let bytes = 0;
    let largest = 0;
    let allRead!: () => void;
    const read = new Promise<void>((r) => (allRead = r));
    await consumer.connect();
    await consumer.subscribe({ topic: prefix + Topics.demandForecast, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const eventId = (JSON.parse(message.value!.toString()) as { eventId: string }).eventId;
        if (seen.has(eventId)) return; // at-least-once: a resend is not another event
        seen.add(eventId);
        bytes += message.value!.length;
        largest = Math.max(largest, message.value!.length);
        if (seen.size === seriesCount) allRead();
      },
    });

    // This run's backends: the pool's connections (application_name is the schema), opened by now.
    await Promise.all(Array.from({ length: 12 }, () => db.query('SELECT pg_sleep(0.05)')));
    const backends: number[] = (await db.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [schema])).map((r: { pid: number }) => r.pid);
    relay.start(1_000);
    const started = performance.now();
    const statsBefore = JSON.parse(JSON.stringify(pool.stats)) as typeof pool.stats;
    const cpuBefore = process.cpuUsage();
    const ticksBefore = cpuTicks(backends);
    await scheduler.refreshAll();
    const forecastSeconds = (performance.now() - started) / 1000;
    await Promise.race([read, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${seen.size} of ${seriesCount} events reached the topic in 5 min`)), 300_000).unref())]);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const ticksAfter = cpuTicks(backends);
    // Per thread: the main thread (tid = pid), the model workers (the busiest other threads), the rest.
    const byThread = [...ticksAfter.threads].map(([tid, t]) => ({ tid, name: t.name, ms: (t.ticks - (ticksBefore.threads.get(tid)?.ticks ?? 0)) * 10 }));
    const mainMs = byThread.find((t) => t.tid === String(process.pid))?.ms ?? 0;
    const others = byThread.filter((t) => t.tid !== String(process.pid)).sort((a, b) => b.ms - a.ms);
    const workerThreadsMs = others.slice(0, pool.size).reduce((a, t) => a + t.ms, 0);
    const restMs = others.slice(pool.size).reduce((a, t) => a + t.ms, 0);
    const postgresMs = (ticksAfter.postgres - ticksBefore.postgres) * 10;
    await scheduler.stop();
    await relay.stop();

    const fits = Object.entries(pool.stats).map(([k, v]) => {
      const tasks = v!.tasks - (statsBefore[k as keyof typeof pool.stats]?.tasks ?? 0);
      return `${k} ${tasks}× ${((v!.workerMs - (statsBefore[k as keyof typeof pool.stats]?.workerMs ?? 0)) / Math.max(1, tasks)).toFixed(0)} ms`;
    });
    const figures: ProductionFigures = {
      production_series_per_s: Number((seriesCount / seconds).toFixed(2)),
      bytes_per_event: Math.round(bytes / seen.size),
      production_series: seriesCount,
      production_s: Number(seconds.toFixed(2)),
      stages: {
        ...Object.fromEntries(Object.entries(timings).map(([k, v]) => [`${k}_ms`, Number((k === 'seriesKeys' ? v.ms : v.ms / seriesCount).toFixed(1))])),
        ...Object.fromEntries(
          Object.entries(pool.stats).map(([k, v]) => [`${k}_worker_ms`, Number(((v!.workerMs - (statsBefore[k as keyof typeof pool.stats]?.workerMs ?? 0)) / seriesCount).toFixed(1))]),
        ),
        process_cpu_ms: Number(((cpu.user + cpu.system) / 1000 / seriesCount).toFixed(1)),
        main_thread_cpu_ms: Number((mainMs / seriesCount).toFixed(1)),
        worker_threads_cpu_ms: Number((workerThreadsMs / seriesCount).toFixed(1)),
        other_threads_cpu_ms: Number((restMs / seriesCount).toFixed(1)),
        // The pool replaces idle connections, and an exited backend's CPU is gone from /proc: a floor, left out when it went negative.
        ...(postgresMs >= 0 ? { postgres_cpu_ms_floor: Number((postgresMs / seriesCount).toFixed(1)) } : {}),
      },
    };
    log(`production: worker time per fit: ${fits.join(', ')}`);
    log(`production: per series (seriesKeys: total ms): ${JSON.stringify(figures.stages)}`);
    log(
      `production: ${seriesCount} series re-forecast in ${forecastSeconds.toFixed(1)} s, all ${seen.size} events on the topic after ${seconds.toFixed(1)} s ` +
        `on ${pool.size} workers, ${forecastConcurrency(config, pool.size)} series at a time: ${figures.production_series_per_s} series/s; event ${figures.bytes_per_event} bytes mean, ${largest} largest`,
    );
    return figures;
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

/** CPU ticks (1/100 s) per thread of this process, by thread id, and of the given PostgreSQL backends (Linux /proc). */
export function cpuTicks(postgresPids: readonly number[]): { threads: Map<string, { name: string; ticks: number }>; postgres: number } {
  const ticksOf = (stat: string) => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const threads = new Map<string, { name: string; ticks: number }>();
  let postgres = 0;
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      threads.set(tid, { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: ticksOf(stat) });
    }
    for (const pid of postgresPids) {
      try {
        postgres += ticksOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        // exited meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return { threads, postgres };
}

/** Store calls timed in wall-clock ms per call (the production path's own store, wrapped, not replaced). */
export function timeStoreCalls(store: object, names: readonly string[]): Record<string, { calls: number; ms: number }> {
  const timings: Record<string, { calls: number; ms: number }> = {};
  for (const name of names) {
    const method = (store as Record<string, unknown>)[name];
    if (typeof method !== 'function') continue;
    const original = (method as (...args: unknown[]) => Promise<unknown>).bind(store);
    const t = (timings[name] = { calls: 0, ms: 0 });
    (store as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      const started = performance.now();
      try {
        return await original(...args);
      } finally {
        t.calls++;
        t.ms += performance.now() - started;
      }
    };
  }
  return timings;
}

if (require.main === module) {
  // bash bench/run.sh forecast-production [-- --data DIR] [--series 10000] [--workers N]
  void (async () => {
    const { parseArgs } = await import('node:util');
    const { values: args } = parseArgs({ options: { data: { type: 'string', default: join(REPO, 'data/series') }, series: { type: 'string', default: '10000' }, workers: { type: 'string' }, concurrency: { type: 'string' } } });
    const { loadavg } = await import('node:os');
    const loadBefore = loadavg()[0];
    const figures = await runProductionBenchmark({ data: args.data!, series: Number(args.series), workers: args.workers ? Number(args.workers) : undefined, concurrency: args.concurrency ? Number(args.concurrency) : undefined });
    console.log(JSON.stringify({ bench: 'forecast-production', ...figures, load_before: Number(loadBefore.toFixed(2)), load_after: Number(loadavg()[0].toFixed(2)) }));
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
