/**
 * Ingest benchmark: how close does ingest (consume + validate + aggregate + persist) get to what
 * Kafka's own consumer reads from the same topic?
 *
 *   npm run bench:ingest [-- --records 1000000] [--runs 3] [--ingest-runs 3] [--partitions 6]
 *                        [--domains 12] [--step-ms 20] [--compression none|gzip|lz4|snappy|zstd] [--concurrency N]
 *                        [--instances N] [--produce-after-join] [--ingest-entry PATH] [--node-options="..." (default: as deployed)] [--cpu-prof FILE]
 *                        [--clients librdkafka,kafkajs] [--skip-kafkajs] [--skip-kafka-perf] [--keep]
 *                        [--observed-topics v1|v2|v1,v2]
 *
 * Protocol:
 * 1. A fresh topic prefix (all contract topics, 6 partitions, via the platform's ensureTopics);
 *    N records like generateTelemetry's (one record per Kafka message, key = domain, event time
 *    rising `--step-ms` (20) per record: a 50 records/s stream replayed, ~36 records per
 *    (domain, region, minute) bucket; a stream that really runs at ingest's rate packs thousands
 *    per bucket, e.g. `--step-ms 0.01`) produced with kcat (librdkafka, murmur2 partitioner like Java and
 *    kafkajs). Not timed. With 12 domains the key hash leaves the partitions uneven (printed).
 * 2. Kafka's ConsumerPerformance on the topic, `--runs` times with a fresh group each, median run.
 *    Its clock starts after JVM start-up and consumer construction, so neither counts; nMsg.sec
 *    includes the group join (rebalance.time.ms), fetch.nMsg.sec excludes it. Reported as printed.
 * 3. The client ceiling: bare kafkajs consumers (fresh groups, PartitionBatchConsumer's fetch
 *    settings, ingest's default concurrency 3) that only count messages, with eachBatch and with
 *    eachMessage; timed from the end of the group join (consumer.run() resolves after
 *    joinAndSync) to the N-th message, like fetch.nMsg.sec. Median of `--runs`.
 * 4. Ingest as a real process (fresh group and schema per run, `--ingest-runs`, median run), on
 *    each of `--clients` (INGEST_KAFKA_CLIENT; default librdkafka then kafkajs, alternating per
 *    round); the first is the headline (ingest_rps, ratio), the others get ingest_<client>_rps.
 *    t0 = the `ingest consuming` log line, which ingest logs only after the group join (kafkajs
 *    run() awaits joinAndSync): t0 excludes start-up, migrations and the join and includes the
 *    first fetch. t1 = the first 100 ms poll where accepted + rejected in partition_progress
 *    reaches N. ingest_rps = N / (t1 − t0). The steady rate from the first poll that sees a stored
 *    batch is printed too (it leaves out the first fetch and batch). Totals are checked exactly
 *    against what was produced (demand_history sums, partition_progress counts) and, untimed after
 *    t1, the published side: once idle close (10 s here) has closed the last buckets, the
 *    demand_buckets sums must equal the input and every revision have its event in Kafka
 *    (distinct eventIds; repeats of an event, which the at-least-once outbox allows, are counted apart). CPU seconds of
 *    ingest, broker, PostgreSQL and the rest in the window come from /proc; peak RSS is VmHWM
 *    after publication (it was read at t1 before 2026-12-02).
 *    --produce-after-join (for scale-out, --instances > 1): each ingest run gets an empty topic of
 *    its own; the members start, join and settle (every member's latest assignment log splits the
 *    partitions), then t0 = the start of production (kcat replaying the same lines from a file
 *    written during step 1, so only kcat's work is in the window) and t1 as above.
 *    Measures long-running members with the producer's CPU inside the window, no join in it.
 * 5. ratio = ingest_rps / kafka_consumer_rps (ConsumerPerformance nMsg.sec as printed);
 *    ratio_fetch uses fetch.nMsg.sec (join excluded on both sides: the stricter comparison).
 * 6. Clean-up: stop ingest, drop the schemas, delete the prefix's topics and the bench's groups.
 *
 * Profiling: `--cpu-prof FILE` preloads bench/ingest/cpu-profile-preload.js into ingest and writes
 * a .cpuprofile at t1 (summarise with bench/ingest/analyze-profile.ts); bench/ingest/hot-path.ts
 * times the pure per-record steps alone.
 */
import os from 'node:os';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { consumerPerformanceRuns, median, partitionCounts, produceTelemetry, ProducedTelemetry, startKcatProducer } from './kafka-bench-tools';
import { fmt, IngestBench, IngestResult, otherTop, runIngest, threadTop } from './ingest/ingest-run';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    partitions: { type: 'string', default: '6' },
    domains: { type: 'string', default: '12' },
    'step-ms': { type: 'string', default: '20' },
    'produce-after-join': { type: 'boolean', default: false },
    compression: { type: 'string', default: 'none' },
    concurrency: { type: 'string' },
    instances: { type: 'string', default: '1' },
    'ingest-entry': { type: 'string', default: resolve(__dirname, '..', 'apps', 'ingest', 'dist', 'src', 'main.js') },
    'node-options': { type: 'string' },
    'cpu-prof': { type: 'string' },
    'skip-kafkajs': { type: 'boolean', default: false },
    /** INGEST_DEMAND_OBSERVED_TOPICS; the events counted are demand.observed.v2's when v2 is on. */
    'observed-topics': { type: 'string', default: 'v2' },
    clients: { type: 'string', default: 'librdkafka,kafkajs' },
    'skip-kafka-perf': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    'ingest-runs': { type: 'string', default: '3' },
  },
});

const N = Number(args.records);
const PARTITIONS = Number(args.partitions);
const bench = new IngestBench(N, PARTITIONS);
const { env, log, topic } = bench;
const freshGroup = (what: string) => bench.freshGroup(what);

type Expected = ProducedTelemetry;

/** The records as kcat input, kept from the first production: later runs replay it (no generation). */
let produced: { file: string; expected: Expected } | undefined;

async function produce(into = topic): Promise<Expected> {
  if (produced) {
    // A replay (--produce-after-join runs): stream the same lines, so only kcat's own work falls
    // inside the timed window.
    const kcat = startKcatProducer(env.KAFKA_BROKERS, into, args.compression);
    createReadStream(produced.file).pipe(kcat.input);
    await kcat.done;
    return produced.expected;
  }
  const file = resolve(os.tmpdir(), `${bench.prefix}records.tsv`);
  bench.files.push(file);
  const copy = createWriteStream(file);
  const expected = await produceTelemetry({
    brokers: env.KAFKA_BROKERS,
    topic: into,
    records: N,
    domains: Number(args.domains),
    stepMs: Number(args['step-ms']),
    compression: args.compression!,
    tee: async (lines) => {
      if (!copy.write(lines)) await once(copy, 'drain');
    },
  });
  copy.end();
  await once(copy, 'finish');
  produced = { file, expected };
  return expected;
}

interface ClientResult {
  mode: 'eachBatch' | 'eachMessage';
  count: number;
  joinMs: number;
  consumeMs: number;
  rps: number;
}

/** A kafkajs consumer that only counts: the ceiling any kafkajs-based ingest can reach. */
async function bareKafkajs(kafka: Kafka, mode: 'eachBatch' | 'eachMessage'): Promise<ClientResult> {
  // Same fetch settings as PartitionBatchConsumer and ingest's default concurrency (3).
  const consumer = kafka.consumer({ groupId: freshGroup(mode), maxBytesPerPartition: 4 * 1024 * 1024, maxBytes: 32 * 1024 * 1024, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let count = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let tEnd = 0;
  const tRun = performance.now();
  const concurrency = Number(args.concurrency ?? 3);
  if (mode === 'eachBatch') {
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: concurrency,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        count += batch.messages.length;
        if (batch.messages.length) resolveOffset(batch.messages[batch.messages.length - 1].offset);
        if (count >= N && !tEnd) {
          tEnd = performance.now();
          resolveDone();
        }
      },
    });
  } else {
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: concurrency,
      eachMessage: async () => {
        count += 1;
        if (count >= N && !tEnd) {
          tEnd = performance.now();
          resolveDone();
        }
      },
    });
  }
  const tJoined = performance.now();
  const timeout = setTimeout(() => resolveDone(), 300_000);
  await done;
  clearTimeout(timeout);
  await consumer.disconnect();
  if (!tEnd) throw new Error(`${mode}: only ${count} of ${N} messages within 300 s`);
  const consumeMs = tEnd - tJoined;
  return { mode, count, joinMs: tJoined - tRun, consumeMs, rps: (N / consumeMs) * 1000 };
}

async function main(kafka: Kafka, db: Client): Promise<void> {
  if (!Number.isInteger(N) || N <= 0) throw new Error('--records must be a positive integer');
  await bench.createTopics(kafka);
  log(`topic ${topic} (${PARTITIONS} partitions); producing ${fmt(N)} records with kcat (-z ${args.compression})`);
  const tp = performance.now();
  const expected = await produce();
  const produceS = (performance.now() - tp) / 1000;
  const perPartition = await partitionCounts(kafka, topic);
  const inTopic = perPartition.reduce((a, b) => a + b, 0);
  if (inTopic !== N) throw new Error(`topic holds ${inTopic} messages, expected ${N}`);
  log(`produced in ${produceS.toFixed(1)} s (${fmt(N / produceS)}/s); per partition ${perPartition.join(', ')}; avg value ${(expected.payloadBytes / N).toFixed(0)} B`);

  // Short runs on a shared machine are noisy: the consumers run `--runs` times (fresh group each)
  // and the median run counts; ingest runs `--ingest-runs` times (fresh group and schema each).
  const runs = Math.max(1, Number(args.runs));
  const perfRuns = args['skip-kafka-perf'] ? undefined : await consumerPerformanceRuns(env.KAFKA_BROKERS, topic, N, runs, () => freshGroup('kperf'), log);
  const perf = perfRuns?.median;
  const perfFetch = perfRuns?.fetchNMsgSec ?? NaN;

  const clients: ClientResult[] = [];
  const clientRuns: Record<string, number[]> = { eachBatch: [], eachMessage: [] };
  if (!args['skip-kafkajs']) {
    for (const mode of ['eachBatch', 'eachMessage'] as const) {
      const rs: ClientResult[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await bareKafkajs(kafka, mode);
        rs.push(r);
        log(`kafkajs ${mode} ${i + 1}/${runs}: ${fmt(r.rps)} msg/s`);
      }
      clients.push(median(rs, (r) => r.rps));
      clientRuns[mode] = rs.map((r) => r.rps);
    }
  }

  // Each round runs every client once, so drift on a shared machine hits them alike.
  const ingestClients = args.clients!.split(',').map((c) => c.trim()).filter(Boolean);
  const byClient = new Map<string, IngestResult[]>(ingestClients.map((c) => [c, []]));
  for (let i = 0; i < Math.max(1, Number(args['ingest-runs'])); i++) {
    for (const client of ingestClients) {
      const r = await runIngest(bench, db, kafka, expected, {
        client,
        entry: args['ingest-entry'],
        instances: Number(args.instances),
        concurrency: args.concurrency,
        nodeOptions: args['node-options'],
        cpuProf: args['cpu-prof'],
        produceAfterJoin: args['produce-after-join'] ? produce : undefined,
        observedTopics: args['observed-topics'],
      });
      byClient.get(client)!.push(r);
      log(`ingest (${client}) ${i + 1}: ${fmt(r.rps)} rec/s over ${r.seconds.toFixed(2)} s (${r.exact ? 'exact' : `MISMATCH: ${r.mismatch.join('; ')}`})`);
      if (!r.exact) log(`ingest's last output:\n  ${r.stderrTail.join('\n  ')}`);
    }
  }
  // The headline is the first client (the default deployment's, librdkafka).
  const headline = ingestClients[0];
  const ingRuns = byClient.get(headline)!;
  const ing = median(ingRuns, (r) => r.rps);
  const everyRun = [...byClient.values()].flat();
  const others = ingestClients.slice(1).map((c) => ({ client: c, runs: byClient.get(c)!, med: median(byClient.get(c)!, (r) => r.rps) }));
  const all = (xs: number[]) => (xs.length > 1 ? `; runs ${xs.map(fmt).join(' / ')}` : '');

  const kafkaRps = perf?.nMsgSec ?? NaN;
  const ratio = ing.rps / kafkaRps;
  const eb = clients.find((c) => c.mode === 'eachBatch');
  const em = clients.find((c) => c.mode === 'eachMessage');
  const row = (name: string, rps: number, note: string) => `${name.padEnd(44)} ${fmt(rps).padStart(12)}  ${note}`;
  const out: string[] = [];
  out.push('');
  out.push(`ingest benchmark: ${fmt(N)} records, ${PARTITIONS} partitions (${perPartition.join('/')}), ${Number(args.domains)} domains, event time +${args['step-ms']} ms per record, ${args.instances} ingest instance(s)${args['produce-after-join'] ? ' (produced after join)' : ''}, value ≈${(expected.payloadBytes / N).toFixed(0)} B, compression ${args.compression}`);
  out.push(`${'consumer'.padEnd(44)} ${'records/s'.padStart(12)}  notes`);
  out.push('-'.repeat(100));
  if (perf) {
    out.push(row('Kafka ConsumerPerformance nMsg.sec', perf.nMsgSec, `${perf.mbSec.toFixed(1)} MB/s; includes join ${perf.rebalanceMs} ms; excludes JVM start (process ${(perf.processWallMs / 1000).toFixed(1)} s)${all(perfRuns!.runs.map((r) => r.nMsgSec))}`));
    out.push(row('Kafka ConsumerPerformance fetch.nMsg.sec', perfFetch, `join excluded${all(perfRuns!.runs.map((r) => r.fetchNMsgSec))}`));
  }
  if (eb) out.push(row('kafkajs eachBatch, count only', eb.rps, `${(eb.consumeMs / 1000).toFixed(2)} s after join${all(clientRuns.eachBatch)}`));
  if (em) out.push(row('kafkajs eachMessage, count only', em.rps, `${(em.consumeMs / 1000).toFixed(2)} s after join${all(clientRuns.eachMessage)}`));
  out.push(row(`ingest on ${headline} (consume+validate+aggregate+persist)`, ing.rps, `${ing.seconds.toFixed(2)} s from 'ingest consuming' to N stored; start-up ${fmt(ing.startupMs)} ms; CPU ${ing.cpuSeconds.ingest} s${all(ingRuns.map((r) => r.rps))}`));
  out.push(row(`ingest on ${headline}, steady (from first stored batch)`, ing.steadyRps, `first batch stored ${fmt(ing.firstStoredMs)} ms after 'ingest consuming'`));
  for (const o of others) out.push(row(`ingest on ${o.client}`, o.med.rps, `${o.med.seconds.toFixed(2)} s; CPU ${o.med.cpuSeconds.ingest} s; ratio ${(o.med.rps / (perf?.nMsgSec ?? NaN)).toFixed(3)}${all(o.runs.map((r) => r.rps))}`));
  out.push('-'.repeat(100));
  const cpu = ing.cpuSeconds;
  out.push(`partitions done (s after t0, records): ${ing.partitionFinishS.map((f) => `p${f.partition} ${f.s.toFixed(1)} (${fmt(f.records)})`).join(', ')}`);
  out.push(`CPU seconds during the ${headline} ingest window (${ing.seconds.toFixed(2)} s wall, ${os.cpus().length} CPUs): ingest ${cpu.ingest}, Kafka broker ${cpu.kafka_broker}, PostgreSQL ${cpu.postgres}, this bench ${cpu.bench}, other ${cpu.other}${otherTop(cpu)}`);
  if (threadTop(cpu)) out.push(`ingest CPU seconds by thread: ${threadTop(cpu)}`);
  out.push(`ingest totals: ${JSON.stringify(ing.totals)}; expected requests ${expected.requests}, errors ${expected.errors}, bytes ${expected.bytes} → ${ing.exact ? 'EXACT' : `MISMATCH: ${ing.mismatch.join('; ')}`}`);
  for (const [c, rs] of byClient) rs.forEach((r, i) => !r.exact && r !== ing && out.push(`ingest (${c}) run ${i + 1} not exact: ${r.mismatch.join('; ')}`));
  out.push(`published: every bucket closed with a revision and outbox event, merged totals exact, ${everyRun.map((r) => (r.publishedAfterS === null ? 'NOT within 60 s' : `${r.publishedAfterS.toFixed(1)} s`)).join(' / ')} after t1 (untimed; idle close 10 s)`);
  if (args['produce-after-join']) out.push(`production (kcat, inside the window): ${ingRuns.map((r) => `${r.productionS?.toFixed(2)} s`).join(' / ')} — a run whose production takes most of its window measures kcat, not ingest`);
  out.push(`ingest stored ${fmt(ing.buckets)} (domain, region, minute) buckets, ${fmt(ing.outbox)} ${ing.eventsTopic} events (${ing.duplicateEvents === null ? 'repeats not counted' : `${fmt(ing.duplicateEvents)} of them repeats: at-least-once`}); peak RSS ${ing.peakRssMb ?? '?'} MB${Number(args.instances) > 1 ? ` (sum of ${args.instances} instances)` : ''}`);
  if (perf) out.push(`ConsumerPerformance output (median run):\n  ${perf.header}\n  ${perf.line}`);
  if (eb) out.push(`ingest / kafkajs eachBatch ceiling = ${(ing.rps / eb.rps).toFixed(3)}`);
  out.push(`ratio (ingest on ${headline} / ConsumerPerformance nMsg.sec) = ${ratio.toFixed(3)} (target ≥ 0.5)${perf ? `; vs fetch.nMsg.sec = ${(ing.rps / perfFetch).toFixed(3)}` : ''}`);
  out.push('Kafka clients alone (kafkajs, @confluentinc/kafka-javascript, the native batch consumer): `npm run bench:kafka-client` (bench/README.md).');
  console.log(out.join('\n'));
  if (!everyRun.every((r) => r.exact)) process.exitCode = 1;
  const r = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d)));
  console.log(
    JSON.stringify({
      bench: 'ingest',
      records: N,
      ingest_rps: r(ing.rps),
      kafka_consumer_rps: r(kafkaRps),
      ratio: r(ratio, 3),
      kafka_client: headline,
      ...Object.fromEntries(others.flatMap((o) => [[`ingest_${o.client}_rps`, r(o.med.rps)], [`ratio_${o.client}`, r(o.med.rps / kafkaRps, 3)]])),
      kafka_consumer_fetch_rps: r(perfFetch),
      ratio_fetch: r(ing.rps / perfFetch, 3),
      eachBatch_rps: r(eb?.rps),
      eachMessage_rps: r(em?.rps),
      ingest_steady_rps: r(ing.steadyRps),
      seconds: r(ing.seconds, 2),
      peak_rss_mb: ing.peakRssMb,
      ingest_cpu_s: ing.cpuSeconds.ingest,
      exact: everyRun.every((r) => r.exact),
      step_ms: Number(args['step-ms']),
      instances: Number(args.instances),
      production_s: args['produce-after-join'] ? r(ing.productionS ?? NaN, 2) : null,
    }),
  );
}

bench.run(args.keep!, main);
