/**
 * Ingest benchmark: how close does ingest (consume + validate + aggregate + persist) get to what
 * Kafka's own consumer reads from the same topic?
 *
 *   npm run bench:ingest [-- --records 1000000] [--runs 3] [--ingest-runs 3] [--partitions 6]
 *                        [--domains 12] [--step-ms 20] [--compression none|gzip|lz4|snappy|zstd] [--concurrency N]
 *                        [--instances N] [--produce-after-join] [--ingest-entry PATH] [--node-options="..." (default: as deployed)] [--cpu-prof FILE]
 *                        [--clients librdkafka,kafkajs] [--skip-kafkajs] [--skip-kafka-perf] [--keep]
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
 *    demand_buckets sums must equal the input and every revision have its event in Kafka. CPU seconds of
 *    ingest, broker, PostgreSQL and the rest in the window come from /proc; peak RSS is VmHWM.
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
import { createReadStream, createWriteStream, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { contractTopicSpecs, deadLetterTopic, ErrorCodes, Topics } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { readDeadLetters, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';
import { INGEST_NODE_OPTIONS } from '../apps/ingest/src';
import { consumerPerformance, ConsumerPerformanceResult, deleteExistingGroups, partitionCounts, produceTelemetry, ProducedTelemetry, startKcatProducer } from './kafka-bench-tools';

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
    clients: { type: 'string', default: 'librdkafka,kafkajs' },
    'skip-kafka-perf': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    'ingest-runs': { type: 'string', default: '3' },
  },
});

const N = Number(args.records);
const PARTITIONS = Number(args.partitions);
const env = stackEnv();
const BROKERS = env.KAFKA_BROKERS.split(',');
const prefix = `${uniqueName('bench')}.`;
const topic = `${prefix}${Topics.telemetryRequests}`;
/** Every topic prefix the bench created (--produce-after-join makes one per ingest run). */
const prefixes = [prefix];
const schemas: string[] = [];
const groups: string[] = [];

const log = (msg: string) => process.stderr.write(`[bench] ${new Date().toISOString().slice(11, 23)} ${msg}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const freshGroup = (what: string) => {
  const g = uniqueName(`bench-${what}`);
  groups.push(g);
  return g;
};

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
  const file = resolve(os.tmpdir(), `${prefix}records.tsv`);
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

interface IngestResult {
  startupMs: number;
  seconds: number;
  rps: number;
  steadyRps: number;
  firstStoredMs: number;
  peakRssMb: number | null;
  totals: Record<string, number>;
  exact: boolean;
  /** Why the run is not exact, by name (late and rejected records per partition, totals that differ); empty when exact. */
  mismatch: string[];
  buckets: number;
  outbox: number;
  /** Seconds after t1 until every bucket was closed and published with exact totals; null if not within 60 s. */
  publishedAfterS: number | null;
  /** --produce-after-join: seconds kcat took, inside the window. */
  productionS: number | null;
  stderrTail: string[];
  /** CPU seconds used between t0 and t1, by process kind (from /proc/<pid>/stat). */
  cpuSeconds: Record<string, number>;
  /** When each partition's stored count reached its final value (seconds after t0, to the 100 ms poll). */
  partitionFinishS: { partition: number; records: number; s: number }[];
}

async function runIngest(db: Client, kafka: Kafka, expected: Expected, client: string): Promise<IngestResult> {
  const group = freshGroup('ingest');
  // --produce-after-join: an empty topic of this run's own, filled once every member has joined
  // and the assignment has settled (long-running members; no join or rebalance in the window).
  const afterJoin = args['produce-after-join'];
  const runPrefix = afterJoin ? `${uniqueName('benchj')}.` : prefix;
  if (afterJoin) {
    prefixes.push(runPrefix);
    await ensureTopics(kafka, contractTopicSpecs(), PARTITIONS, runPrefix);
  }
  const schema = uniqueName('ingest_bench');
  schemas.push(schema);
  // Runs on one prefix share its demand.observed.v1 topic: this run's events are what it adds.
  const eventsBefore = (await partitionCounts(kafka, `${runPrefix}${Topics.demandObserved}`)).reduce((a, b) => a + b, 0);
  const extra: Record<string, string> = { INGEST_KAFKA_CLIENT: client };
  if (args.concurrency) extra.INGEST_PARTITIONS_CONCURRENCY = args.concurrency;
  // As deployed (docker-compose.yml); `--node-options=` (empty) measures Node's defaults.
  extra.NODE_OPTIONS = args['node-options'] ?? INGEST_NODE_OPTIONS;
  if (args['cpu-prof']) {
    extra.NODE_OPTIONS = `${extra.NODE_OPTIONS ?? ''} --require ${resolve(__dirname, 'ingest', 'cpu-profile-preload.js')}`.trim();
    extra.BENCH_CPU_PROFILE = resolve(args['cpu-prof']);
  }
  const tSpawn = performance.now();
  // --instances > 1: several members of one group sharing the schema (how ingest scales out).
  const procs = Array.from({ length: Number(args.instances) }, () =>
    new ServiceProcess(args['ingest-entry']!, {
      ...env,
      HTTP_PORT: '0',
      KAFKA_TOPIC_PREFIX: runPrefix,
      INGEST_DB_SCHEMA: schema,
      INGEST_GROUP_ID: group,
      KAFKA_GROUP_PREFIX: group,
      LOG_LEVEL: 'info',
      // The stream's last buckets close this long after it ends (default 60 s): checked after t1,
      // untimed. Batches come every second or two, so no partition idles this long mid-run.
      INGEST_IDLE_CLOSE_MS: '10000',
      ...extra,
    }).start(),
  );
  const ingest = procs[0];
  try {
    // With several members, t0 is when the first has joined (it starts consuming alone, then the
    // group rebalances as the others join: their start-up counts against ingest).
    let t0: number;
    let cpu0: Record<string, number>;
    let producing: Promise<Expected> | undefined;
    let productionS: number | null = null;
    if (afterJoin) {
      await Promise.all(procs.map((p) => p.waitForMessage('ingest consuming', 120_000)));
      await settledAssignment(procs);
      t0 = performance.now();
      cpu0 = cpuSnapshot(procs.map((p) => p.pid!));
      producing = produce(`${runPrefix}${Topics.telemetryRequests}`).then((sent) => {
        productionS = (performance.now() - t0) / 1000;
        log(`production (kcat) took ${productionS.toFixed(2)} s of the window`);
        return sent;
      });
    } else {
      await Promise.any(procs.map((p) => p.waitForMessage('ingest consuming', 120_000)));
      t0 = performance.now();
      cpu0 = cpuSnapshot(procs.map((p) => p.pid!));
      await Promise.all(procs.map((p) => p.waitForMessage('ingest consuming', 120_000)));
    }
    // Per partition too: when each reached its final count shows whether one (hot) partition's
    // serial chain, rather than the whole process, sets the end of the window.
    const partitionFinish = new Map<number, { n: number; at: number }>();
    const progress = async (): Promise<number> => {
      try {
        const { rows } = await db.query(`SELECT partition, (accepted_records + rejected_records)::bigint AS n FROM "${schema}".partition_progress`);
        const now = performance.now();
        let total = 0;
        for (const r of rows) {
          const pn = Number(r.n);
          total += pn;
          if (partitionFinish.get(r.partition)?.n !== pn) partitionFinish.set(r.partition, { n: pn, at: now });
        }
        return total;
      } catch {
        return 0;
      }
    };
    let tFirst = 0;
    let nFirst = 0;
    let n = 0;
    let t1 = 0;
    let peakRssMb: number | null = null;
    const deadline = t0 + 600_000;
    for (;;) {
      n = await progress();
      const now = performance.now();
      if (n > 0 && !tFirst) {
        tFirst = now;
        nFirst = n;
      }
      if (n >= N) {
        t1 = now;
        break;
      }
      if (now > deadline) throw new Error(`ingest stored only ${n} of ${N} records within 600 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const cpu1 = cpuSnapshot(procs.map((p) => p.pid!));
    if (producing) {
      await producing;
      const held = (await partitionCounts(kafka, `${runPrefix}${Topics.telemetryRequests}`)).reduce((a, b) => a + b, 0);
      if (held !== N) throw new Error(`the run's topic holds ${held} messages, expected ${N}`);
    }
    // Processes that started inside the window count from zero; those that ended in it are lost
    // (a negative difference), so each figure is clamped at 0: approximate, for orientation.
    const cpuSeconds = Object.fromEntries(Object.keys(cpu1).map((k) => [k, Math.max(0, Number((cpu1[k] - (cpu0[k] ?? 0)).toFixed(2)))]));
    const rss = procs.map((p) => readPeakRssMb(p.pid));
    peakRssMb = rss.every((x) => x !== null) ? (rss as number[]).reduce((a, b) => a + b, 0) : null;
    if (args['cpu-prof']) await writeCpuProfile(resolve(args['cpu-prof']));
    const [sums] = (await db.query(`SELECT coalesce(sum(requests),0)::bigint AS requests, coalesce(sum(errors),0)::bigint AS errors, coalesce(sum(bytes),0)::bigint AS bytes, count(*)::bigint AS buckets FROM "${schema}".demand_history`)).rows;
    const [prog] = (await db.query(`SELECT sum(accepted_records)::bigint AS accepted, sum(rejected_records)::bigint AS rejected, sum(late_records)::bigint AS late FROM "${schema}".partition_progress`)).rows;
    const totals = {
      requests: Number(sums.requests),
      errors: Number(sums.errors),
      bytes: Number(sums.bytes),
      accepted: Number(prog.accepted),
      rejected: Number(prog.rejected),
      late: Number(prog.late),
    };
    // Untimed: the closed-bucket path (merge across partitions, revisions, outbox) checked too.
    // Buckets close when a partition's watermark passes them or, at the end of the stream, after
    // INGEST_IDLE_CLOSE_MS; every bucket then has a published revision whose totals add up.
    let publishedAfterS: number | null = null;
    let published = 0;
    for (const deadline = performance.now() + 60_000; performance.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      const [pub] = (
        await db.query(
          `SELECT coalesce(sum(requests),0)::bigint AS requests, coalesce(sum(errors),0)::bigint AS errors, coalesce(sum(bytes),0)::bigint AS bytes,
                  count(*) FILTER (WHERE revision = 0)::bigint AS unpublished, coalesce(sum(revision),0)::bigint AS revisions,
                  (SELECT count(*) FROM "${schema}".demand_outbox)::bigint AS unsent
           FROM "${schema}".demand_buckets`,
        )
      ).rows;
      // Every revision's event in Kafka (the relay deletes what it has sent).
      published = (await partitionCounts(kafka, `${runPrefix}${Topics.demandObserved}`)).reduce((a, b) => a + b, 0) - eventsBefore;
      if (Number(pub.requests) === expected.requests && Number(pub.errors) === expected.errors && Number(pub.bytes) === expected.bytes && Number(pub.unpublished) === 0 && Number(pub.unsent) === 0 && Number(pub.revisions) === published) {
        publishedAfterS = (performance.now() - t1) / 1000;
        break;
      }
    }
    const exact = totals.requests === expected.requests && totals.errors === expected.errors && totals.bytes === expected.bytes && totals.accepted === N && totals.rejected === 0 && publishedAfterS !== null;
    const mismatch = exact ? [] : await mismatchReasons(db, schema, `${runPrefix}${Topics.telemetryRequests}`, group, expected, totals, publishedAfterS);
    const seconds = (t1 - t0) / 1000;
    return {
      startupMs: t0 - tSpawn,
      seconds,
      rps: N / seconds,
      steadyRps: tFirst && t1 > tFirst ? ((N - nFirst) / (t1 - tFirst)) * 1000 : NaN,
      firstStoredMs: tFirst - t0,
      peakRssMb,
      totals,
      exact,
      mismatch,
      buckets: Number(sums.buckets),
      outbox: published,
      publishedAfterS,
      productionS,
      stderrTail: [...ingest.stderr.slice(-5), ...ingest.logLines().slice(-15).map((l) => `${String(l.msg)} ${JSON.stringify(l).slice(0, 300)}`)],
      cpuSeconds,
      partitionFinishS: [...partitionFinish].sort((a, b) => a[0] - b[0]).map(([partition, f]) => ({ partition, records: f.n, s: (f.at - t0) / 1000 })),
    };
  } finally {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
  }
}

/**
 * Why a run is not exact, by name: per partition how many records came late and how many were
 * rejected, by code (the run's dead letters: its consumer group's, deduplicated on
 * x-dead-letter-id), then the totals that differ. Late records mean the input was produced out of
 * event-time order (a non-idempotent producer's retried batch lands behind later ones).
 */
async function mismatchReasons(
  db: Client,
  schema: string,
  sourceTopic: string,
  group: string,
  expected: Expected,
  totals: Record<string, number>,
  publishedAfterS: number | null,
): Promise<string[]> {
  const codesByPartition = new Map<number, Map<string, number>>();
  const seen = new Set<string>();
  for (const letter of await readDeadLetters(env.KAFKA_BROKERS, deadLetterTopic(sourceTopic))) {
    if (letter.group !== group || seen.has(letter.id)) continue;
    seen.add(letter.id);
    const codes = codesByPartition.get(letter.partition) ?? new Map<string, number>();
    codes.set(letter.code, (codes.get(letter.code) ?? 0) + 1);
    codesByPartition.set(letter.partition, codes);
  }
  const reasons: string[] = [];
  const { rows } = await db.query(`SELECT partition, late_records::bigint AS late, rejected_records::bigint AS rejected FROM "${schema}".partition_progress WHERE rejected_records > 0 ORDER BY partition`);
  for (const row of rows) {
    const codes = [...(codesByPartition.get(row.partition) ?? [])].sort().map(([code, n]) => `${code} ${fmt(n)}`);
    reasons.push(`partition ${row.partition}: ${fmt(Number(row.late))} late (${ErrorCodes.TELEMETRY_LATE}), ${fmt(Number(row.rejected))} rejected in all; dead letters by code: ${codes.join(', ') || 'none found'}`);
  }
  for (const k of ['requests', 'errors', 'bytes'] as const) if (totals[k] !== expected[k]) reasons.push(`${k} ${fmt(totals[k])}, expected ${fmt(expected[k])}`);
  if (totals.accepted !== N) reasons.push(`accepted ${fmt(totals.accepted)} of ${fmt(N)} records`);
  // Published totals differ anyway when the stored ones do.
  if (publishedAfterS === null && reasons.length === 0) reasons.push('not every bucket was closed and published within 60 s');
  return reasons;
}

/**
 * CPU seconds (user + system) so far of the ingest processes, the Kafka broker, PostgreSQL and
 * everything else: on a small machine they share the cores, and this shows who used them.
 */
function cpuSnapshot(ingestPids: number[]): Record<string, number> {
  const out: Record<string, number> = { ingest: 0, kafka_broker: 0, postgres: 0, bench: 0, other: 0 };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      let kind = 'other';
      if (ingestPids.includes(Number(entry))) kind = 'ingest';
      else if (Number(entry) === process.pid) kind = 'bench';
      else if (comm === 'postgres') kind = 'postgres';
      else if (comm === 'java' && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('kafka.Kafka')) kind = 'kafka_broker';
      out[kind] += seconds;
      if (kind === 'other') out[`other:${entry}:${comm.split(/[/-]/)[0]}`] = seconds;
      if (kind === 'ingest') addThreadSeconds(out, Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}
const CLOCK_TICKS = 100;

/** Ingest's CPU by thread kind (`thread:<name>`, names with digits folded: rdk:broker1 → rdk:broker#). */
function addThreadSeconds(out: Record<string, number>, pid: number): void {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // Node names all its threads 'node': told apart by creation order (V8's platform workers
      // start with the process, libuv's pool on its first job), shown as node+<tid - pid>.
      const name = Number(tid) === pid ? 'main (event loop)' : comm === 'node' ? `node+${Number(tid) - pid}` : comm.replace(/\d+/g, '#');
      out[`thread:${name}`] = (out[`thread:${name}`] ?? 0) + (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      // the thread ended meanwhile
    }
  }
}

/** The ingest threads' CPU in the window, busiest first. */
function threadTop(cpu: Record<string, number>): string {
  return Object.entries(cpu)
    .filter(([k, v]) => k.startsWith('thread:') && v >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.slice(7)} ${v.toFixed(2)}`)
    .join(', ');
}

/** The busiest other processes in the window, by command name (pids of one name summed). */
function otherTop(cpu: Record<string, number>): string {
  const byName = new Map<string, number>();
  for (const [k, v] of Object.entries(cpu)) {
    if (!k.startsWith('other:')) continue;
    const name = k.split(':').slice(2).join(':');
    byName.set(name, (byName.get(name) ?? 0) + v);
  }
  const top = [...byName]
    .filter(([, v]) => v >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`);
  return top.length ? ` (${top.join(', ')})` : '';
}

/** Asks the preloaded profiler (bench/ingest/cpu-profile-preload.js) to write its profile. */
/** The preload polls for the trigger file (a signal would also reach Nest's shutdown hooks). */
async function writeCpuProfile(file: string): Promise<void> {
  rmSync(`${file}.done`, { force: true });
  writeFileSync(`${file}.trigger`, '');
  for (let i = 0; i < 300 && !existsSync(`${file}.done`); i++) await new Promise((r) => setTimeout(r, 100));
  rmSync(`${file}.trigger`, { force: true });
  log(`cpu profile: ${file} (${existsSync(file) ? 'written' : 'MISSING'})`);
}

function readPeakRssMb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/**
 * Resolves once every member's latest `partitions assigned` log splits all partitions between
 * them (each member logs its assignment on every group join), i.e. no rebalance is pending.
 */
async function settledAssignment(procs: ServiceProcess[]): Promise<void> {
  const deadline = performance.now() + 120_000;
  for (;;) {
    const latest = procs.map((p) => [...p.logLines()].reverse().find((l) => l.msg === 'partitions assigned')?.partitions as number[] | undefined);
    const all = latest.flatMap((l) => l ?? []);
    if (latest.every((l) => l !== undefined) && all.length === PARTITIONS && new Set(all).size === PARTITIONS) return;
    if (performance.now() > deadline) throw new Error(`assignment did not settle: ${JSON.stringify(latest)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function cleanUp(kafka: Kafka, db: Client): Promise<void> {
  if (produced) rmSync(produced.file, { force: true });
  if (args.keep) {
    log(`--keep: leaving schemas ${schemas.join(', ')} and topics ${prefixes.map((p) => `${p}*`).join(', ')}`);
    return;
  }
  for (const schema of schemas) await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((e) => log(`drop schema failed: ${e.message}`));
  const admin = kafka.admin();
  try {
    await admin.connect();
    // Listed or not (metadata can lag a failed ensureTopics), every contract topic of the prefix.
    const listed = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(p)));
    const topics = [...new Set([...listed, ...prefixes.flatMap((p) => contractTopicSpecs().map((spec) => p + spec.name))])];
    let deleted = 0;
    for (const t of topics) {
      await admin
        .deleteTopics({ topics: [t], timeout: 30_000 })
        .then(() => deleted++)
        .catch(() => undefined); // never created
    }
    const groupsDeleted = await deleteExistingGroups(admin, groups.flatMap((g) => [g, `${g}-ingest-control`]), log);
    log(`cleaned up: schemas ${schemas.join(', ')}, ${deleted} topics, ${groupsDeleted} groups`);
  } catch (e) {
    log(`clean-up failed: ${(e as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  if (!Number.isInteger(N) || N <= 0) throw new Error('--records must be a positive integer');
  const kafka = createKafka(BROKERS, 'shardcast-bench');
  const db = new Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  try {
    // A broker busy with other sessions' topic churn may answer a fresh topic's metadata late.
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureTopics(kafka, contractTopicSpecs(), PARTITIONS, prefix);
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
        log(`ensureTopics failed (${(err as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
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
    const median = <T>(xs: T[], by: (x: T) => number): T => [...xs].sort((a, b) => by(a) - by(b))[Math.floor((xs.length - 1) / 2)];
    const perfRuns: ConsumerPerformanceResult[] = [];
    if (!args['skip-kafka-perf']) {
      for (let i = 0; i < runs; i++) {
        const r = await consumerPerformance(env.KAFKA_BROKERS, topic, N, freshGroup('kperf'));
        perfRuns.push(r);
        log(`ConsumerPerformance ${i + 1}/${runs}: ${fmt(r.nMsgSec)} msg/s (fetch ${fmt(r.fetchNMsgSec)} msg/s), JVM process ${(r.processWallMs / 1000).toFixed(1)} s`);
      }
    }
    const perf = perfRuns.length ? median(perfRuns, (r) => r.nMsgSec) : undefined;
    const perfFetch = perfRuns.length ? median(perfRuns, (r) => r.fetchNMsgSec).fetchNMsgSec : NaN;

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
        const r = await runIngest(db, kafka, expected, client);
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
      out.push(row('Kafka ConsumerPerformance nMsg.sec', perf.nMsgSec, `${perf.mbSec.toFixed(1)} MB/s; includes join ${perf.rebalanceMs} ms; excludes JVM start (process ${(perf.processWallMs / 1000).toFixed(1)} s)${all(perfRuns.map((r) => r.nMsgSec))}`));
      out.push(row('Kafka ConsumerPerformance fetch.nMsg.sec', perfFetch, `join excluded${all(perfRuns.map((r) => r.fetchNMsgSec))}`));
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
    out.push(`ingest stored ${fmt(ing.buckets)} (domain, region, minute) buckets, ${fmt(ing.outbox)} demand.observed.v1 events; peak RSS ${ing.peakRssMb ?? '?'} MB${Number(args.instances) > 1 ? ` (sum of ${args.instances} instances)` : ''}`);
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
  } finally {
    await cleanUp(kafka, db);
    await db.end();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
