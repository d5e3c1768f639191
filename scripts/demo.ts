/**
 * The demo: replays real request-count traces through the real Kafka broker into ingest and
 * prints per-region demand from PostgreSQL. Repeatable: it resets its own topics and schema.
 *
 * Real data: NAB's ELB request counts (AWS CloudWatch, 5 min) and NAB's AMZN tweet volume
 * (5 min), see data/series/README.md. They hold counts, not client locations: each count is
 * expanded into request records whose client locations follow DEMO_CLIENT_MIX (printed below).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { contractTopicSpecs, DemandForecast, forecastRate, forecastResources } from '@shardcast/contracts';
import { DEMO_CLIENT_MIX, deserializeLatencySketch, expandCountsToRequests, parseCountCsv, ReplayRecord } from '@shardcast/telemetry';
import { eventually, ServiceProcess, stackEnv } from '@shardcast/test-stack';
import { INGEST_NODE_OPTIONS } from '../apps/ingest/src';
import { DDSketch } from '@datadog/sketches-js';

const ROOT = resolve(__dirname, '..');
const PREFIX = 'demo.';
const SCHEMA = 'demo_ingest';
const FORECASTER_SCHEMA = 'demo_forecaster';
const DEMO_API_KEY = 'demo-key';
const FORECAST_PREFIX = 'demo-forecast.';
const RECORDS_PER_MESSAGE = 200;
/** A typical PaaS footprint; the region set is configuration (REGIONS), not code. */
const DEMO_REGIONS = 'us-east-1,us-west-2,eu-west-1,eu-central-1,ap-northeast-1,ap-south-1,sa-east-1,ap-southeast-2';

const TRACES = [
  { file: 'data/series/elb_request_count_8c0756.csv', domain: 'shop.example.com', what: 'NAB realAWSCloudwatch ELB request count, 14 days' },
  { file: 'data/series/Twitter_volume_AMZN.csv', domain: 'social.example.com', what: 'NAB realTweets AMZN volume, first 7 days', limit: 7 * 288 },
];

async function main(): Promise<void> {
  const env = stackEnv();
  const brokers = env.KAFKA_BROKERS.split(',');
  const kafka = createKafka(brokers, 'shardcast-demo');
  const db = new Client({ connectionString: env.DATABASE_URL });
  await db.connect();

  console.log('[demo] resetting the demo topics and schema (safe to run again)');
  const admin = kafka.admin();
  await admin.connect();
  const stale = (await admin.listTopics()).filter((t) => t.startsWith(PREFIX) || t.startsWith(FORECAST_PREFIX));
  if (stale.length) await admin.deleteTopics({ topics: stale });
  await admin.deleteGroups(['demo-ingest']).catch(() => undefined);
  await admin.disconnect();
  await db.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await eventually(async () => (await listTopics(kafka)).some((t) => t.startsWith(PREFIX)), (exists) => !exists, 30_000);
  await ensureTopics(kafka, contractTopicSpecs(), 6, PREFIX);

  const ingest = new ServiceProcess(resolve(ROOT, 'apps/ingest/dist/src/main.js'), {
    ...env,
    HTTP_PORT: '0',
    KAFKA_TOPIC_PREFIX: PREFIX,
    INGEST_DB_SCHEMA: SCHEMA,
    INGEST_GROUP_ID: 'demo-ingest',
    LOG_LEVEL: 'info',
    REGIONS: process.env.REGIONS ?? DEMO_REGIONS,
    NODE_OPTIONS: INGEST_NODE_OPTIONS,
  }).start();
  try {
    const consuming = await ingest.waitForMessage('ingest consuming');
    console.log(`[demo] ingest is consuming on ${String(consuming.kafkaClient ?? 'kafkajs')} (INGEST_KAFKA_CLIENT, see docs/ingest.md)`);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let produced = 0;
    const started = Date.now();
    for (const trace of TRACES) {
      const points = parseCountCsv(readFileSync(resolve(ROOT, trace.file), 'utf8')).slice(0, trace.limit);
      let batch: ReplayRecord[] = [];
      let messages: Array<{ key: string; value: string }> = [];
      const flush = async () => {
        if (batch.length) messages.push({ key: `edge-${messages.length % 8}`, value: JSON.stringify({ records: batch }) });
        batch = [];
        if (messages.length) await producer.send({ topic: `${PREFIX}telemetry.requests.v1`, messages, compression: 1 });
        messages = [];
      };
      for (const record of expandCountsToRequests(points, trace.domain, DEMO_CLIENT_MIX, { seed: 2014 })) {
        batch.push(record);
        produced += 1;
        if (batch.length === RECORDS_PER_MESSAGE) {
          messages.push({ key: `edge-${messages.length % 8}`, value: JSON.stringify({ records: batch }) });
          batch = [];
          if (messages.length === 50) await flush();
        }
      }
      await flush();
      console.log(`[demo] replayed ${trace.what} as ${trace.domain}`);
    }
    await producer.disconnect();
    console.log(`[demo] produced ${produced.toLocaleString()} request records in batches of ${RECORDS_PER_MESSAGE} to ${PREFIX}telemetry.requests.v1`);

    const progress = await eventually(
      async () => (await db.query(`SELECT coalesce(sum(accepted_records),0)::bigint AS a, coalesce(sum(rejected_records),0)::bigint AS r FROM "${SCHEMA}".partition_progress`).catch(() => ({ rows: [{ a: 0, r: 0 }] }))).rows[0],
      (row) => Number(row.a) + Number(row.r) >= produced,
      300_000,
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(`[demo] ingest stored ${Number(progress.a).toLocaleString()} records (${Number(progress.r)} rejected) in ${seconds.toFixed(1)} s including production\n`);
    await printRegionTable(db);
    await forecastDemand(env, db);
  } finally {
    await ingest.kill('SIGTERM');
    await db.end();
  }
}

/**
 * Starts the forecaster on the same history (backfilled from ingest's contract view), asks it to
 * forecast every region of each domain through its API, and prints the next day per region.
 */
async function forecastDemand(env: ReturnType<typeof stackEnv>, db: Client): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS "${FORECASTER_SCHEMA}" CASCADE`);
  const forecaster = new ServiceProcess(resolve(ROOT, 'apps/forecaster/dist/src/main.js'), {
    ...env,
    HTTP_PORT: '0',
    // Its own prefix: here it reads history from ingest's view, not by replaying the topic.
    KAFKA_TOPIC_PREFIX: FORECAST_PREFIX,
    KAFKA_GROUP_PREFIX: 'demo',
    FORECASTER_DB_SCHEMA: FORECASTER_SCHEMA,
    FORECASTER_BACKFILL_VIEW: `${SCHEMA}.demand_history`,
    FORECASTER_API_KEYS: DEMO_API_KEY,
    FORECAST_HORIZON_HOURS: '24',
    FORECAST_SELECTION_ORIGINS: '4',
    FORECAST_DEBOUNCE_MS: '600000',
    LOG_LEVEL: 'info',
  }).start();
  try {
    const ready = await forecaster.waitForMessage('forecaster ready', 120_000);
    const base = `http://127.0.0.1:${ready.port}`;
    console.log(`\n[demo] forecaster up (OpenAPI: ${base}/docs); forecasting every region with model selection by backtest...`);
    const started = Date.now();
    const header = ['domain', 'region', 'model', 'MASE', 'next 24 h p50', 'peak req/s p90', 'peak CPU cores', 'peak egress Mbps', 'confidence'];
    const table: string[][] = [header];
    for (const domain of TRACES.map((t) => t.domain)) {
      await fetch(`${base}/v1/domains/${domain}/profile`, {
        method: 'PUT',
        headers: { 'x-api-key': DEMO_API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ appType: domain.startsWith('shop') ? 'ssr' : 'api', tier: 'pro' }),
      });
      const response = await fetch(`${base}/v1/domains/${domain}/forecasts/refresh`, { method: 'POST', headers: { 'x-api-key': DEMO_API_KEY } });
      if (!response.ok) throw new Error(`forecast refresh for ${domain}: HTTP ${response.status} ${await response.text()}`);
      const { regions } = (await response.json()) as { regions: DemandForecast[] };
      for (const f of regions.sort((a, b) => sum(b, 'p50') - sum(a, 'p50'))) {
        table.push([
          f.domain,
          f.region,
          f.model.name,
          f.model.mase === null ? '-' : f.model.mase.toFixed(2),
          Math.round(sum(f, 'p50')).toLocaleString(),
          Math.max(...steps(f).map((i) => forecastRate(f, i, 'p90'))).toFixed(2),
          Math.max(...steps(f).map((i) => forecastResources(f, i).cpuCores)).toFixed(3),
          Math.max(...steps(f).map((i) => forecastResources(f, i).egressMbps)).toFixed(2),
          f.confidence + (f.forecastOnly ? ', forecast only' : ''),
        ]);
      }
    }
    const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
    for (const [i, row] of table.entries()) {
      console.log(row.map((cell, j) => (j < 3 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  '));
      if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    }
    console.log(`\n[demo] ${table.length - 1} series selected, forecast and stored in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log('Forecasts start after the last observed minute; requests per 5-minute step, resources provisioned at the');
    console.log("tier's quantile (pro: p90 x 1.2) from each domain's profile (shop: ssr, social: api). Also published on demo-forecast.demand.forecast.v1.");
  } finally {
    await forecaster.kill('SIGTERM');
  }
}

function sum(f: DemandForecast, q: 'p50' | 'p90'): number {
  return f.requests[q].reduce((s, v) => s + v * f.unit, 0);
}

const steps = (f: DemandForecast): number[] => Array.from({ length: f.steps }, (_, i) => i);

async function listTopics(kafka: ReturnType<typeof createKafka>): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

async function printRegionTable(db: Client): Promise<void> {
  const { rows } = await db.query(`
    SELECT h.domain, h.region, sum(h.requests)::bigint AS requests, max(h.requests)::bigint AS peak_per_min,
           sum(h.errors)::bigint AS errors, sum(h.bytes)::bigint AS bytes, count(*)::int AS minutes
    FROM "${SCHEMA}".demand_history h GROUP BY 1, 2 ORDER BY 1, 3 DESC`);
  const sketches = await db.query(`SELECT domain, region, latency_sketch FROM "${SCHEMA}".demand_buckets WHERE latency_sketch IS NOT NULL`);
  const latency = new Map<string, DDSketch>();
  for (const s of sketches.rows) {
    const id = `${s.domain}|${s.region}`;
    const merged = latency.get(id) ?? new DDSketch({ relativeAccuracy: 0.01 });
    merged.merge(deserializeLatencySketch(s.latency_sketch));
    latency.set(id, merged);
  }
  const header = ['domain', 'region', 'requests', 'share', 'peak req/min', 'mean req/min', 'error %', 'p99 ms', 'GiB out'];
  const table: string[][] = [header];
  const byDomain = new Map<string, number>();
  for (const r of rows) byDomain.set(r.domain, (byDomain.get(r.domain) ?? 0) + Number(r.requests));
  for (const r of rows) {
    const sketch = latency.get(`${r.domain}|${r.region}`);
    table.push([
      r.domain,
      r.region,
      Number(r.requests).toLocaleString(),
      `${((100 * Number(r.requests)) / byDomain.get(r.domain)!).toFixed(1)} %`,
      String(r.peak_per_min),
      (Number(r.requests) / r.minutes).toFixed(1),
      ((100 * Number(r.errors)) / Number(r.requests)).toFixed(2),
      sketch && sketch.count > 0 ? sketch.getValueAtQuantile(0.99).toFixed(0) : '-',
      (Number(r.bytes) / 2 ** 30).toFixed(2),
    ]);
  }
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const [i, row] of table.entries()) {
    console.log(row.map((cell, j) => (j < 2 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  console.log('\nPer-region demand per (domain, region, minute) from PostgreSQL (view demo_ingest.demand_history).');
  console.log('Request counts over time are real; client locations are simulated from this stated mix:');
  console.log('  ' + DEMO_CLIENT_MIX.map((a) => `${a.name} ${(a.share * 100).toFixed(0)} %`).join(', '));
  console.log('p99 latency is merged from per-minute DDSketches of closed buckets; latencies and sizes are simulated.');
}

main().catch((err) => {
  console.error(`[demo] failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
