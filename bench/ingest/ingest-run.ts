/**
 * Ingest as a real process against a topic of telemetry, timed and checked exactly: what
 * bench:ingest and bench:scale share (the protocol is in bench/ingest.ts's header, step 4).
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { contractTopicSpecs, deadLetterTopic, ErrorCodes, Topics } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { readDeadLetters, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';
import { INGEST_NODE_OPTIONS } from '../../apps/ingest/src';
import { countDistinctEvents, deleteExistingGroups, partitionCounts, partitionEndOffsets, ProducedTelemetry } from '../kafka-bench-tools';

const INGEST_ENTRY = resolve(__dirname, '..', '..', 'apps', 'ingest', 'dist', 'src', 'main.js');

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * One benchmark's run: its topic prefix, and every schema, prefix, group and file it makes, so
 * that clean-up removes exactly those.
 */
export class IngestBench {
  readonly env = stackEnv();
  readonly prefix: string;
  /** The telemetry topic the records go to. */
  readonly topic: string;
  /** Every topic prefix the bench created (--produce-after-join makes one per ingest run). */
  readonly prefixes: string[];
  readonly schemas: string[] = [];
  readonly groups: string[] = [];
  readonly files: string[] = [];

  constructor(
    readonly records: number,
    readonly partitions: number,
    name = 'bench',
  ) {
    this.prefix = `${uniqueName(name)}.`;
    this.topic = `${this.prefix}${Topics.telemetryRequests}`;
    this.prefixes = [this.prefix];
  }

  readonly log = (msg: string) => process.stderr.write(`[bench] ${new Date().toISOString().slice(11, 23)} ${msg}\n`);

  freshGroup(what: string): string {
    const g = uniqueName(`bench-${what}`);
    this.groups.push(g);
    return g;
  }

  /** Every contract topic under the bench's prefix. */
  async createTopics(kafka: Kafka): Promise<void> {
    // A broker busy with other sessions' topic churn may answer a fresh topic's metadata late.
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureTopics(kafka, contractTopicSpecs(), this.partitions, this.prefix);
        return;
      } catch (err) {
        if (attempt >= 3) throw err;
        this.log(`ensureTopics failed (${(err as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
  }

  /**
   * Runs `main` with a Kafka client and a database connection, then cleans up (`keep`: leaves the
   * schemas, topics and groups for a look); an error is printed and exits 1.
   */
  run(keep: boolean, main: (kafka: Kafka, db: Client) => Promise<void>): void {
    const kafka = createKafka(this.env.KAFKA_BROKERS.split(','), 'shardcast-bench');
    const db = new Client({ connectionString: this.env.DATABASE_URL });
    const body = async () => {
      await db.connect();
      try {
        await main(kafka, db);
      } finally {
        await this.cleanUp(kafka, db, keep);
        await db.end();
      }
    };
    // Ends once cleaned up: a handle a library leaves open (the forecast pass left one) must not keep the bench running.
    body().then(
      () => process.exit(process.exitCode ?? 0),
      (err) => {
        console.error(err instanceof Error ? err.stack : err);
        process.exit(1);
      },
    );
  }

  /** Drops the bench's schemas, topics and groups and removes its files (`keep`: all but the files). */
  private async cleanUp(kafka: Kafka, db: Client, keep: boolean): Promise<void> {
    const { log, schemas, prefixes, groups } = this;
    for (const file of this.files) rmSync(file, { force: true });
    if (keep) {
      log(`--keep: leaving schemas ${schemas.join(', ')} and topics ${prefixes.map((p) => `${p}*`).join(', ')}`);
      return;
    }
    for (const schema of schemas) await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((e) => log(`drop schema failed: ${e.message}`));
    const admin = kafka.admin();
    try {
      await admin.connect();
      // Listed or not (metadata can lag a failed ensureTopics), every contract topic of the prefix;
      // one not listed is tried once: kafkajs retries "unknown topic" for a minute, and the forecast
      // pass deletes its own topics, which kept the bench from exiting for 16 minutes.
      const listed = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(p)));
      const unlisted = prefixes.flatMap((p) => contractTopicSpecs().map((spec) => p + spec.name)).filter((t) => !listed.includes(t));
      const once = kafka.admin({ retry: { retries: 0 } });
      await once.connect();
      let deleted = 0;
      try {
        for (const [client, t] of [...listed.map((t) => [admin, t] as const), ...unlisted.map((t) => [once, t] as const)]) {
          await client
            .deleteTopics({ topics: [t], timeout: 30_000 })
            .then(() => deleted++)
            .catch(() => undefined); // never created
        }
      } finally {
        await once.disconnect().catch(() => undefined);
      }
      const groupsDeleted = await deleteExistingGroups(admin, groups.flatMap((g) => [g, `${g}-ingest-control`]), log);
      log(`cleaned up: schemas ${schemas.join(', ')}, ${deleted} topics, ${groupsDeleted} groups`);
    } catch (e) {
      log(`clean-up failed: ${(e as Error).message}`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

/** How ingest runs: its Kafka client, the process(es) and Node's options. */
export interface IngestRunOptions {
  /** INGEST_KAFKA_CLIENT. */
  client: string;
  /** The built service (default apps/ingest/dist/src/main.js). */
  entry?: string;
  /** Members of one group sharing the schema (default 1). */
  instances?: number;
  /** INGEST_PARTITIONS_CONCURRENCY. */
  concurrency?: string;
  /** NODE_OPTIONS (default: as deployed). */
  nodeOptions?: string;
  /** Write a .cpuprofile here at t1. */
  cpuProf?: string;
  /**
   * Given, each run gets an empty topic of its own, filled by this once every member has joined
   * (the window then holds production, not the join).
   */
  produceAfterJoin?: (topic: string) => Promise<ProducedTelemetry>;
  /** How long ingest may take to store every record, from t0 (default 600 s). */
  ingestWithinS?: number;
  /** How long after t1 every bucket may take to be closed and published (default 60 s). */
  publishWithinS?: number;
  /**
   * INGEST_IDLE_CLOSE_MS (default 10 s): a partition that gets no batch this long closes its open
   * buckets and counts older records as late, so on a starved machine a partition still holding
   * records may close mid-run; a longer one only delays the untimed publication check.
   */
  idleCloseMs?: number;
  /**
   * INGEST_DEMAND_OBSERVED_TOPICS (default `v1`). The counted topic (`outbox`, `duplicateEvents`,
   * `eventsTopic`) is demand.observed.v2 when v2 is on, else v1.
   */
  observedTopics?: string;
}

export interface IngestResult {
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
  /** The demand.observed topic whose messages `outbox` counts (unprefixed). */
  eventsTopic: string;
  /** Messages this run added to `eventsTopic`. */
  outbox: number;
  /** Of `outbox`, messages that repeat an event already sent (same eventId: at-least-once); null when not counted (not all published). */
  duplicateEvents: number | null;
  /** Seconds after t1 until every bucket was closed and published with exact totals; null if not within publishWithinS. */
  publishedAfterS: number | null;
  /** --produce-after-join: seconds kcat took, inside the window. */
  productionS: number | null;
  stderrTail: string[];
  /** CPU seconds used between t0 and t1, by process kind (from /proc/<pid>/stat). */
  cpuSeconds: Record<string, number>;
  /** When each partition's stored count reached its final value (seconds after t0, to the 100 ms poll). */
  partitionFinishS: { partition: number; records: number; s: number }[];
}

export async function runIngest(bench: IngestBench, db: Client, kafka: Kafka, expected: ProducedTelemetry, options: IngestRunOptions): Promise<IngestResult> {
  const { log, records: N } = bench;
  const group = bench.freshGroup('ingest');
  // --produce-after-join: an empty topic of this run's own, filled once every member has joined
  // and the assignment has settled (long-running members; no join or rebalance in the window).
  const afterJoin = options.produceAfterJoin;
  const runPrefix = afterJoin ? `${uniqueName('benchj')}.` : bench.prefix;
  if (afterJoin) {
    bench.prefixes.push(runPrefix);
    await ensureTopics(kafka, contractTopicSpecs(), bench.partitions, runPrefix);
  }
  const schema = uniqueName('ingest_bench');
  bench.schemas.push(schema);
  // Runs on one prefix share its demand.observed topics: this run's events are what it adds.
  const observed = (options.observedTopics ?? 'v2').split(',').map((t) => t.trim());
  const [v1On, v2On] = [observed.includes('v1'), observed.includes('v2')];
  const v1Topic = `${runPrefix}${Topics.demandObserved}`;
  const v1From = await partitionEndOffsets(kafka, v1Topic);
  const v1Before = v1From.reduce((a, b) => a + b, 0);
  const v2Topic = `${runPrefix}${Topics.demandObservedV2}`;
  const v2From = await partitionEndOffsets(kafka, v2Topic);
  const extra: Record<string, string> = { INGEST_KAFKA_CLIENT: options.client, INGEST_DEMAND_OBSERVED_TOPICS: observed.join(',') };
  if (options.concurrency) extra.INGEST_PARTITIONS_CONCURRENCY = options.concurrency;
  // As deployed (docker-compose.yml); `--node-options=` (empty) measures Node's defaults.
  extra.NODE_OPTIONS = options.nodeOptions ?? INGEST_NODE_OPTIONS;
  if (options.cpuProf) {
    extra.NODE_OPTIONS = `${extra.NODE_OPTIONS ?? ''} --require ${resolve(__dirname, 'cpu-profile-preload.js')}`.trim();
    extra.BENCH_CPU_PROFILE = resolve(options.cpuProf);
  }
  const tSpawn = performance.now();
  // --instances > 1: several members of one group sharing the schema (how ingest scales out).
  const procs = Array.from({ length: options.instances ?? 1 }, () =>
    new ServiceProcess(options.entry ?? INGEST_ENTRY, {
      ...bench.env,
      HTTP_PORT: '0',
      KAFKA_TOPIC_PREFIX: runPrefix,
      INGEST_DB_SCHEMA: schema,
      INGEST_GROUP_ID: group,
      KAFKA_GROUP_PREFIX: group,
      LOG_LEVEL: 'info',
      // The stream's last buckets close this long after it ends (default 60 s): checked after t1,
      // untimed. Batches come every second or two, so no partition idles this long mid-run.
      INGEST_IDLE_CLOSE_MS: String(options.idleCloseMs ?? 10_000),
      ...extra,
    }).start(),
  );
  const ingest = procs[0];
  try {
    // With several members, t0 is when the first has joined (it starts consuming alone, then the
    // group rebalances as the others join: their start-up counts against ingest).
    let t0: number;
    let cpu0: Record<string, number>;
    let producing: Promise<ProducedTelemetry> | undefined;
    let productionS: number | null = null;
    if (afterJoin) {
      await Promise.all(procs.map((p) => p.waitForMessage('ingest consuming', 120_000)));
      await settledAssignment(procs, bench.partitions);
      t0 = performance.now();
      cpu0 = cpuSnapshot(procs.map((p) => p.pid!));
      producing = afterJoin(`${runPrefix}${Topics.telemetryRequests}`).then((sent) => {
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
    const deadline = t0 + (options.ingestWithinS ?? 600) * 1000;
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
      if (now > deadline) throw new Error(`ingest stored only ${n} of ${N} records within ${options.ingestWithinS ?? 600} s`);
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
    if (options.cpuProf) await writeCpuProfile(resolve(options.cpuProf), log);
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
    let duplicateEvents: number | null = null;
    let distinctCountedAt = -1;
    // Stored totals that are not exact cannot be published exactly: no wait then.
    const storedExact = totals.requests === expected.requests && totals.errors === expected.errors && totals.bytes === expected.bytes && totals.accepted === N && totals.rejected === 0;
    for (const deadline = performance.now() + (storedExact ? (options.publishWithinS ?? 60) * 1000 : 0); performance.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      const [pub] = (
        await db.query(
          `SELECT coalesce(sum(requests),0)::bigint AS requests, coalesce(sum(errors),0)::bigint AS errors, coalesce(sum(bytes),0)::bigint AS bytes,
                  count(*) FILTER (WHERE revision = 0)::bigint AS unpublished, coalesce(sum(revision),0)::bigint AS revisions,
                  (SELECT count(*) FROM "${schema}".demand_outbox)::bigint AS unsent
           FROM "${schema}".demand_buckets`,
        )
      ).rows;
      // Every revision's event in Kafka (the relay deletes what it has sent).
      published = v1On ? (await partitionEndOffsets(kafka, v1Topic)).reduce((a, b) => a + b, 0) - v1Before : 0;
      const revisions = Number(pub.revisions);
      if (Number(pub.requests) !== expected.requests || Number(pub.errors) !== expected.errors || Number(pub.bytes) !== expected.bytes || Number(pub.unpublished) !== 0 || Number(pub.unsent) !== 0) continue;
      // v1: an event per revision. (v2 carries a commit's revisions in a few events: sent once no
      // outbox row is left, as a row goes only once all its events are acknowledged.)
      if (v1On && published < revisions) continue;
      if (v1On && published > revisions && published !== distinctCountedAt) {
        // More messages than revisions: the outbox is at-least-once (a relay poll may send a row
        // its writer is still sending). Exact when the distinct event ids are the revisions.
        const events = await countDistinctEvents(bench.env.KAFKA_BROKERS, v1Topic, v1From);
        distinctCountedAt = published;
        duplicateEvents = events.messages - events.distinct;
        // kcat read to the end later than the offsets were looked up: its count is the newer.
        published = events.messages;
        if (events.distinct !== revisions) continue;
      } else if (v1On && published > revisions) continue;
      if (v1On && published === revisions) duplicateEvents = 0;
      publishedAfterS = (performance.now() - t1) / 1000;
      break;
    }
    if (v2On) {
      // The counted topic: its messages and how many repeat an event id (after publication, or whatever arrived).
      const events = await countDistinctEvents(bench.env.KAFKA_BROKERS, v2Topic, v2From);
      published = events.messages;
      duplicateEvents = publishedAfterS === null ? null : events.messages - events.distinct;
    }
    // VmHWM after publication: sending the last buckets' events can take more memory than the window did.
    const rss = procs.map((p) => readPeakRssMb(p.pid));
    peakRssMb = rss.every((x) => x !== null) ? (rss as number[]).reduce((a, b) => a + b, 0) : null;
    const exact = storedExact && publishedAfterS !== null;
    const mismatch = exact ? [] : await mismatchReasons(bench, options, db, schema, `${runPrefix}${Topics.telemetryRequests}`, group, expected, totals, publishedAfterS);
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
      eventsTopic: v2On ? Topics.demandObservedV2 : Topics.demandObserved,
      outbox: published,
      duplicateEvents,
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
  bench: IngestBench,
  options: IngestRunOptions,
  db: Client,
  schema: string,
  sourceTopic: string,
  group: string,
  expected: ProducedTelemetry,
  totals: Record<string, number>,
  publishedAfterS: number | null,
): Promise<string[]> {
  const codesByPartition = new Map<number, Map<string, number>>();
  const seen = new Set<string>();
  for (const letter of await readDeadLetters(bench.env.KAFKA_BROKERS, deadLetterTopic(sourceTopic))) {
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
  if (totals.accepted !== bench.records) reasons.push(`accepted ${fmt(totals.accepted)} of ${fmt(bench.records)} records`);
  // Published totals differ anyway when the stored ones do.
  if (publishedAfterS === null && reasons.length === 0) reasons.push(`not every bucket was closed and published within ${options.publishWithinS ?? 60} s`);
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
export function threadTop(cpu: Record<string, number>): string {
  return Object.entries(cpu)
    .filter(([k, v]) => k.startsWith('thread:') && v >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.slice(7)} ${v.toFixed(2)}`)
    .join(', ');
}

/** The busiest other processes in the window, by command name (pids of one name summed). */
export function otherTop(cpu: Record<string, number>): string {
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
async function writeCpuProfile(file: string, log: (msg: string) => void): Promise<void> {
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
async function settledAssignment(procs: ServiceProcess[], partitions: number): Promise<void> {
  const deadline = performance.now() + 120_000;
  for (;;) {
    const latest = procs.map((p) => [...p.logLines()].reverse().find((l) => l.msg === 'partitions assigned')?.partitions as number[] | undefined);
    const all = latest.flatMap((l) => l ?? []);
    if (latest.every((l) => l !== undefined) && all.length === partitions && new Set(all).size === partitions) return;
    if (performance.now() > deadline) throw new Error(`assignment did not settle: ${JSON.stringify(latest)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
