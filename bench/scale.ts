/**
 * Scale benchmark (issue #20): ingest over many domains, most of them small, against Kafka's own
 * consumer on the same topic.
 *
 *   npm run bench:scale [-- --records 1000000] [--domains 100000] [--uniform] [--zipf-s 1]
 *                       [--step-ms 0.1] [--partitions 6] [--runs 1] [--client librdkafka]
 *                       [--ingest-within-s 1800] [--publish-within-s 600] [--idle-close-ms 30000] [--cpu-prof FILE] [--keep]
 *                       [--forecast-domains 10000] [--full-series 500] [--skip-forecast] [--forecast-only]
 *                       [--observed-topics v1|v2|v1,v2]
 *
 * 1. A fresh topic prefix (all contract topics); `--records` records like generateTelemetry's,
 *    one per Kafka message, keyed by domain, over `--domains` domains whose volumes follow Zipf's
 *    law (rank r sends ∝ 1 / r^s, s = `--zipf-s`, 1): a hosting provider's few heavy domains and
 *    long tail. `--uniform` draws every domain alike (10 records per domain on average at the
 *    defaults): the worst case, every bucket holding a record or two. Event time rises
 *    `--step-ms` (0.1) per record: a stream of 10,000 records/s. Produced with kcat
 *    (idempotent, murmur2 like Java and kafkajs); not timed.
 * 2. Kafka's ConsumerPerformance on the topic (`--runs`, fresh group each, median run).
 * 3. Ingest as a real process on `--client`, timed and checked as in bench:ingest (its header,
 *    step 4): t0 = `ingest consuming`, t1 = the first 100 ms poll where partition_progress counts
 *    every record; totals exact in demand_history and, untimed after t1, every bucket closed and
 *    published within `--publish-within-s`: as many distinct eventIds in Kafka as revisions
 *    (repeats, which the at-least-once outbox allows, are counted apart). The last buckets close by
 *    INGEST_IDLE_CLOSE_MS = `--idle-close-ms` (30 s, not bench:ingest's 10 s: on a busy machine a
 *    partition can get no batch for 10 s mid-run, and an idle close then makes its remaining
 *    records late).
 * 4. Figures per record: (domain, region, minute) buckets stored and demand.observed messages
 *    published (the per-bucket cost the issue is about), ingest's peak RSS (VmHWM). Ingest
 *    publishes on the topics `--observed-topics` names (INGEST_DEMAND_OBSERVED_TOPICS, default
 *    `v1`); the messages counted are demand.observed.v2's when v2 is on (an event per commit and
 *    chunk), else v1's (an event per bucket revision).
 * 5. The forecaster's pass over `--forecast-domains` (10,000) domains, about three regions each,
 *    seven days of history each, through its own tiers, store and outbox (bench/forecast-scale.ts
 *    states how the series are built and what is timed): forecast_pass_s. `--full-series` sets
 *    FORECAST_FULL_TIER_SERIES (default the service's); `--skip-forecast` leaves the pass out
 *    (its fields null), `--forecast-only` runs the pass alone (the ingest fields null).
 *
 * Ends with one JSON line: {"bench":"scale","domains","records","ingest_rps","kafka_consumer_rps",
 * "ratio","exact","buckets_per_record","events_per_record","peak_rss_mb","forecast_domains",
 * "series","forecast_pass_s",...}. Exits 1 when the run is not exact.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { consumerPerformanceRuns, partitionCounts, produceTelemetry } from './kafka-bench-tools';
import { fmt, IngestBench, otherTop, runIngest, threadTop } from './ingest/ingest-run';
import { ForecastScaleFigures, runForecastScale } from './forecast-scale';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    domains: { type: 'string', default: '100000' },
    uniform: { type: 'boolean', default: false },
    'zipf-s': { type: 'string', default: '1' },
    'step-ms': { type: 'string', default: '0.1' },
    partitions: { type: 'string', default: '6' },
    runs: { type: 'string', default: '1' },
    client: { type: 'string', default: 'librdkafka' },
    'ingest-within-s': { type: 'string', default: '1800' },
    'publish-within-s': { type: 'string', default: '600' },
    'idle-close-ms': { type: 'string', default: '30000' },
    'cpu-prof': { type: 'string' },
    'node-options': { type: 'string' },
    keep: { type: 'boolean', default: false },
    'forecast-domains': { type: 'string', default: '10000' },
    'full-series': { type: 'string' },
    'skip-forecast': { type: 'boolean', default: false },
    'forecast-only': { type: 'boolean', default: false },
    'observed-topics': { type: 'string', default: 'v2' },
  },
});

/** The forecaster's pass (bench/forecast-scale.ts), with the target beside its figure. */
async function forecastPass(): Promise<ForecastScaleFigures> {
  return runForecastScale({ domains: Number(args['forecast-domains']), fullSeries: args['full-series'] ? Number(args['full-series']) : undefined, log: (line) => console.error(line) });
}

function describeForecast(f: ForecastScaleFigures): string {
  return `forecaster pass over ${fmt(f.forecast_domains)} domains: ${fmt(f.series)} series (${fmt(f.full_series)} full, ${fmt(f.pooled_series)} pooled; ${fmt(f.buckets)} buckets) in ${f.forecast_pass_s.toFixed(1)} s (target ≤ 90)`;
}

const N = Number(args.records);
const DOMAINS = Number(args.domains);
const ZIPF_S = args.uniform ? undefined : Number(args['zipf-s']);
const bench = new IngestBench(N, Number(args.partitions), 'scale');
const { env, log, topic } = bench;

/** How the produced records spread over domains: the shape the per-record costs depend on. */
function describeSpread(byDomain: Map<string, number>): string {
  const counts = [...byDomain.values()].sort((a, b) => b - a);
  const share = (k: number) => counts.slice(0, k).reduce((a, b) => a + b, 0) / N;
  const atMost = (n: number) => counts.filter((c) => c <= n).length;
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  return [
    `${fmt(counts.length)} of ${fmt(DOMAINS)} domains sent records`,
    `heaviest ${fmt(counts[0] ?? 0)}`,
    `top 1 % of domains ${pct(share(Math.ceil(DOMAINS / 100)))} of records`,
    `${fmt(atMost(10))} domains sent ≤ 10 (${fmt(atMost(1))} just one)`,
  ].join('; ');
}

async function main(kafka: Kafka, db: Client): Promise<void> {
  if (args['forecast-only']) {
    const f = await forecastPass();
    console.log(describeForecast(f));
    const [load1] = os.loadavg();
    console.log(JSON.stringify({ bench: 'scale', domains: null, records: null, forecast_domains: f.forecast_domains, series: f.series, forecast_pass_s: f.forecast_pass_s, full_series: f.full_series, pooled_series: f.pooled_series, forecast_gate_replays: f.gate_replays, forecast_stages: f.stages, load_avg_1m: Number(load1.toFixed(2)) }));
    return;
  }
  if (!Number.isInteger(N) || N <= 0) throw new Error('--records must be a positive integer');
  if (!Number.isInteger(DOMAINS) || DOMAINS <= 0) throw new Error('--domains must be a positive integer');
  const distribution = ZIPF_S === undefined ? 'uniform' : `Zipf s = ${ZIPF_S}`;
  await bench.createTopics(kafka);
  log(`topic ${topic} (${bench.partitions} partitions); producing ${fmt(N)} records over ${fmt(DOMAINS)} domains (${distribution}), event time +${args['step-ms']} ms per record`);
  const tp = performance.now();
  const expected = await produceTelemetry({ brokers: env.KAFKA_BROKERS, topic, records: N, domains: DOMAINS, stepMs: Number(args['step-ms']), zipfS: ZIPF_S, compression: 'none' });
  const perPartition = await partitionCounts(kafka, topic);
  const inTopic = perPartition.reduce((a, b) => a + b, 0);
  if (inTopic !== N) throw new Error(`topic holds ${inTopic} messages, expected ${N}`);
  log(`produced in ${((performance.now() - tp) / 1000).toFixed(1)} s; per partition ${perPartition.join(', ')}`);

  const perf = await consumerPerformanceRuns(env.KAFKA_BROKERS, topic, N, Math.max(1, Number(args.runs)), () => bench.freshGroup('kperf'), log);
  const ing = await runIngest(bench, db, kafka, expected, { client: args.client!, cpuProf: args['cpu-prof'], nodeOptions: args['node-options'], ingestWithinS: Number(args['ingest-within-s']), publishWithinS: Number(args['publish-within-s']), idleCloseMs: Number(args['idle-close-ms']), observedTopics: args['observed-topics'] });
  log(`ingest (${args.client}): ${fmt(ing.rps)} rec/s over ${ing.seconds.toFixed(2)} s (${ing.exact ? 'exact' : `MISMATCH: ${ing.mismatch.join('; ')}`})`);
  if (!ing.exact) log(`ingest's last output:\n  ${ing.stderrTail.join('\n  ')}`);

  const fc = args['skip-forecast'] ? null : await forecastPass();
  const kafkaRps = perf.median.nMsgSec;
  const ratio = ing.rps / kafkaRps;
  const cpu = ing.cpuSeconds;
  const [load1, load5, load15] = os.loadavg();
  const out: string[] = [];
  out.push('');
  out.push(`scale benchmark: ${fmt(N)} records over ${fmt(DOMAINS)} domains (${distribution}), ${bench.partitions} partitions (${perPartition.join('/')}), event time +${args['step-ms']} ms per record (${fmt(1000 / Number(args['step-ms']))} records/s)`);
  out.push(`spread: ${describeSpread(expected.byDomain)}`);
  out.push('-'.repeat(100));
  out.push(`Kafka ConsumerPerformance nMsg.sec        ${fmt(kafkaRps).padStart(12)}  (fetch.nMsg.sec ${fmt(perf.fetchNMsgSec)}; join ${perf.median.rebalanceMs} ms)`);
  out.push(`ingest on ${args.client.padEnd(31)} ${fmt(ing.rps).padStart(12)}  ${ing.seconds.toFixed(2)} s from 'ingest consuming' to N stored; steady ${fmt(ing.steadyRps)}/s`);
  out.push(`ratio ingest / ConsumerPerformance nMsg.sec = ${ratio.toFixed(3)} (target on the Zipf run ≥ 0.2)`);
  out.push('-'.repeat(100));
  out.push(`buckets: ${fmt(ing.buckets)} (domain, region, minute) rows, ${(ing.buckets / N).toFixed(3)} per record`);
  out.push(`events: ${fmt(ing.outbox)} ${ing.eventsTopic} messages (ingest publishing ${args['observed-topics']}), ${(ing.outbox / N).toFixed(3)} per record (target ≤ 0.1); ${ing.duplicateEvents === null ? 'repeats not counted (not all published)' : `${fmt(ing.duplicateEvents)} of them repeat an event already sent (same eventId: the outbox is at-least-once)`}`);
  out.push(`peak RSS of ingest: ${ing.peakRssMb ?? '?'} MB (target ≤ 1,536)`);
  out.push(`CPU seconds in the ingest window (${ing.seconds.toFixed(2)} s wall, ${os.cpus().length} CPUs): ingest ${cpu.ingest}, Kafka broker ${cpu.kafka_broker}, PostgreSQL ${cpu.postgres}, this bench ${cpu.bench}, other ${cpu.other}${otherTop(cpu)}`);
  if (threadTop(cpu)) out.push(`ingest CPU seconds by thread: ${threadTop(cpu)}`);
  out.push(`totals: ${JSON.stringify(ing.totals)}; expected requests ${expected.requests}, errors ${expected.errors}, bytes ${expected.bytes} → ${ing.exact ? 'EXACT' : `MISMATCH: ${ing.mismatch.join('; ')}`}`);
  out.push(`published: ${ing.publishedAfterS === null ? `NOT every bucket within ${args['publish-within-s']} s` : `every bucket closed, published and exact ${ing.publishedAfterS.toFixed(1)} s after t1`} (untimed; idle close ${Number(args['idle-close-ms']) / 1000} s)`);
  out.push(`load average at the end: ${load1.toFixed(2)} / ${load5.toFixed(2)} / ${load15.toFixed(2)} (1 / 5 / 15 min; the machine may be shared)`);
  out.push(fc ? describeForecast(fc) : 'forecaster pass: skipped (--skip-forecast)');
  console.log(out.join('\n'));
  if (!ing.exact) process.exitCode = 1;
  const r = (x: number, d = 0) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);
  console.log(
    JSON.stringify({
      bench: 'scale',
      domains: DOMAINS,
      records: N,
      ingest_rps: r(ing.rps),
      kafka_consumer_rps: r(kafkaRps),
      ratio: r(ratio, 3),
      exact: ing.exact,
      buckets_per_record: r(ing.buckets / N, 3),
      events_per_record: r(ing.outbox / N, 3),
      peak_rss_mb: ing.peakRssMb,
      forecast_domains: fc?.forecast_domains ?? null,
      series: fc?.series ?? null,
      forecast_pass_s: fc?.forecast_pass_s ?? null,
      full_series: fc?.full_series ?? null,
      pooled_series: fc?.pooled_series ?? null,
      forecast_gate_replays: fc?.gate_replays ?? null,
      distribution: ZIPF_S === undefined ? 'uniform' : 'zipf',
      zipf_s: ZIPF_S ?? null,
      step_ms: Number(args['step-ms']),
      buckets: ing.buckets,
      events: ing.outbox,
      events_topic: ing.eventsTopic,
      observed_topics: args['observed-topics'],
      duplicate_events: ing.duplicateEvents,
      seconds: r(ing.seconds, 2),
      ingest_cpu_s: cpu.ingest,
      postgres_cpu_s: cpu.postgres,
      load_avg_1m: r(load1, 2),
    }),
  );
}

bench.run(args.keep!, main);
