/**
 * Kafka client benchmark: kafkajs (what shardcast uses) against @confluentinc/kafka-javascript
 * ("ckjs", librdkafka underneath) reading the same topic, with Kafka's own consumer as reference.
 *
 *   bash bench/run.sh kafka-client [-- --records 1000000] [--runs 3] [--partitions 6] [--domains 12]
 *                                  [--concurrency 3] [--batch 10000] [--ckjs-version V]
 *                                  [--ckjs-system-librdkafka] [--reinstall] [--skip-ckjs]
 *                                  [--skip-native] [--aggregate] [--skip-kafka-perf] [--no-wait] [--keep]
 *
 * Typechecked with the rest by `npm run lint` (tsconfig.check.json).
 *
 * Protocol:
 * 1. The peer, installed on demand outside the repo's node_modules into the scratch npm project
 *    .stack/kafka-client/<version>/ (.stack/ is gitignored) unless a matching build is already
 *    there (marker .bench-install.json: version and librdkafka source). Default: 1.10.1 built with
 *    its bundled librdkafka as a shared library (CKJS_LINKING=dynamic, ≈2 min). With
 *    --ckjs-system-librdkafka: 0.1.9-devel (the newest that builds against it) linked against
 *    Debian 12's librdkafka 2.0.2 (BUILD_LIBRDKAFKA=0); its KafkaJS layer sets
 *    'retry.backoff.max.ms', which 2.0.2 rejects, so the consumer drops that key for librdkafka
 *    < 2.3. librdkafka-dev and pkg-config come from apt-get when missing (apt-get update only if
 *    the install fails). Not timed. If the install or build fails, the reason is printed and
 *    reported as ckjs_error, the ckjs figures are null, kafkajs is still measured, exit code 0.
 * 2. A fresh 6-partition topic (the platform's ensureTopics) with N records like
 *    generateTelemetry's, one record per message, key = domain, produced with kcat (librdkafka,
 *    murmur2 partitioner) exactly as bench/ingest.ts does. Not timed.
 * 3. `--runs` rounds (default 3); each round runs, one after another and each with a fresh group:
 *    Kafka's ConsumerPerformance (as bench/ingest.ts: nMsg.sec includes the group join,
 *    fetch.nMsg.sec excludes it, JVM start-up excluded), then three consumers, each in its own
 *    Node process (bench/kafka-client/consumer.ts) so no client shares a heap, GC or native
 *    threads with another:
 *      a. kafkajs eachBatch with PartitionBatchConsumer's settings (maxBytesPerPartition 4 MB,
 *         maxBytes 32 MB, partitionsConsumedConcurrently 3, autoCommit off);
 *      b. ckjs's KafkaJS-compatible API with the same fetch sizes: eachBatch (and
 *         partitionsConsumedConcurrently 3) where the version has them, else eachMessage;
 *      c. ckjs's node-rdkafka-style KafkaConsumer.consume(10000) in a loop, fetch-tuned
 *         (fetch.max.bytes 100 MB, max.partition.fetch.bytes 10 MB, queued.min.messages 1M,
 *         queued.max.messages.kbytes 1 GB);
 *      d. native-packed: ingest's own LibrdkafkaBatchConsumer (libs/ingest-native, built by
 *         `npm run build` on the system's librdkafka), fetch-tuned as c, batches of ≤ --batch
 *         handed over as one Buffer plus typed arrays (no JS object per message until the
 *         per-partition split), committing after a handler that only counts.
 *    With --aggregate, kafkajs and native-packed also run ingest's pure per-record work on every
 *    message (aggregatePartitionMessages: decode, validate, locate, aggregate; nothing stored):
 *    the ceiling of an ingest on each client before persistence.
 *    Every consumer counts messages and sums value lengths (both checked against what was
 *    produced). rps = N / (t(N-th message) − t(first message)): start-up, join and the first fetch
 *    are excluded, the first batch's messages are counted (a batch-level clock can't split it).
 *    Medians over the rounds are reported. Before the build and before each round the bench waits
 *    while a bench/ingest run is going, and before each round until the CPUs are < 35 % busy (at
 *    most 2 min); --no-wait skips both.
 * 4. ckjs_rps = the faster of b and c; ratio_ckjs_to_kafkajs = ckjs_rps / kafkajs eachBatch;
 *    native_packed_rps with ratio_native_packed_to_kafkajs and _to_kafka_consumer.
 * 5. Clean-up: the topic and every group the bench used are deleted (--keep leaves them).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka } from 'kafkajs';
import { Topics } from '@shardcast/contracts';
import { loadLibrdkafkaConsumer } from '@shardcast/ingest-native';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import type { WorkerConfig, WorkerResult } from './kafka-client/consumer';
import { consumerPerformance, ConsumerPerformanceResult, deleteExistingGroups, partitionCounts, produceTelemetry } from './kafka-bench-tools';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    partitions: { type: 'string', default: '6' },
    domains: { type: 'string', default: '12' },
    concurrency: { type: 'string', default: '3' },
    batch: { type: 'string', default: '10000' },
    'ckjs-version': { type: 'string' },
    'ckjs-system-librdkafka': { type: 'boolean', default: false },
    reinstall: { type: 'boolean', default: false },
    'skip-ckjs': { type: 'boolean', default: false },
    'skip-native': { type: 'boolean', default: false },
    aggregate: { type: 'boolean', default: false },
    'skip-kafka-perf': { type: 'boolean', default: false },
    'no-wait': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

const REPO = resolve(__dirname, '..');
const N = Number(args.records);
const PARTITIONS = Number(args.partitions);
const RUNS = Math.max(1, Number(args.runs));
const SYSTEM_LIB = args['ckjs-system-librdkafka']!;
const CKJS_VERSION = args['ckjs-version'] ?? (SYSTEM_LIB ? '0.1.9-devel' : '1.10.1');
const CKJS_PACKAGE = '@confluentinc/kafka-javascript';
const env = stackEnv();
const BROKERS = env.KAFKA_BROKERS.split(',');
const prefix = `${uniqueName('bench-kafka-client')}.`;
const topic = `${prefix}${Topics.telemetryRequests}`;
const groups: string[] = [];
const WORKER = join(__dirname, 'kafka-client', 'consumer.ts');
const WORKER_TIMEOUT_MS = 300_000;

const log = (msg: string) => process.stderr.write(`[bench] ${new Date().toISOString().slice(11, 23)} ${msg}\n`);
const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const freshGroup = (what: string) => {
  const g = uniqueName(`bench-kc-${what}`);
  groups.push(g);
  return g;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

// ---------------------------------------------------------------------------------------------
// 1. The peer: @confluentinc/kafka-javascript in a scratch npm project under .stack/
// ---------------------------------------------------------------------------------------------

interface Peer {
  dir: string;
  version: string;
  librdkafka: string;
  source: 'bundled' | 'system';
  /** 'present' when an earlier run had built it, else the install time. */
  installed: string;
}

interface Captured {
  code: number | null;
  out: string;
}

/** Runs a command, teeing its output to `logFile` (if given) and keeping it for error messages. */
async function run(cmd: string, argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; logFile?: string; timeoutMs?: number } = {}): Promise<Captured> {
  const child = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const file = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  let out = '';
  const take = (d: Buffer) => {
    out += d;
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
    file?.write(d);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
  const code = await new Promise<number | null>((res) => {
    child.on('error', (e) => {
      out += `${cmd}: ${e.message}\n`;
      res(127);
    });
    child.on('close', (c) => res(c));
  });
  if (timer) clearTimeout(timer);
  await new Promise<void>((r) => (file ? file.end(r) : r()));
  return { code, out };
}

/** The last lines of a build log that say what went wrong, for the table and the JSON. */
function whyFailed(out: string): string {
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  const errs = lines.filter((l) => /(^npm (error|ERR!))|error:|Error:|fatal|not found|No such file/i.test(l) && !/^gyp info/.test(l));
  const pick = (errs.length ? errs : lines).slice(-6).join(' | ');
  return pick.length > 700 ? `…${pick.slice(-700)}` : pick;
}

async function aptInstalled(pkgs: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const p of pkgs) {
    const r = await run('dpkg-query', ['-W', '-f=${Status}', p]);
    if (r.code !== 0 || !r.out.includes('install ok installed')) missing.push(p);
  }
  return missing;
}

/** librdkafka-dev and pkg-config from apt when missing; `apt-get update` only if that fails. */
async function ensureAptPackages(logFile: string): Promise<void> {
  const pkgs = ['librdkafka-dev', 'pkg-config'];
  const missing = await aptInstalled(pkgs);
  if (!missing.length) return;
  log(`apt-get install ${missing.join(' ')}`);
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env: aptEnv, logFile, timeoutMs: 600_000 });
  if (r.code !== 0) {
    log('apt-get install failed; apt-get update and retry');
    await run('apt-get', ['update'], { env: aptEnv, logFile, timeoutMs: 600_000 });
    r = await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env: aptEnv, logFile, timeoutMs: 600_000 });
  }
  if (r.code !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed (exit ${r.code}): ${whyFailed(r.out)}`);
}

/** Loads the peer from its scratch project (never from the repo's node_modules). */
function loadPeer(dir: string): { version: string; librdkafka: string } {
  const req = createRequire(join(dir, 'package.json'));
  const pkgJson = req.resolve(`${CKJS_PACKAGE}/package.json`);
  if (!pkgJson.startsWith(dir)) throw new Error(`${CKJS_PACKAGE} resolved outside ${dir}: ${pkgJson}`);
  // 0.1.9-devel's package.json says "v0.1.9-devel".
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version.replace(/^v/, '');
  const ckjs = req(CKJS_PACKAGE) as { librdkafkaVersion: string };
  return { version, librdkafka: ckjs.librdkafkaVersion };
}

async function ensurePeer(): Promise<Peer> {
  const source = SYSTEM_LIB ? 'system' : 'bundled';
  const dir = join(REPO, '.stack', 'kafka-client', CKJS_VERSION);
  const marker = join(dir, '.bench-install.json');
  const logFile = join(dir, 'install.log');
  mkdirSync(dir, { recursive: true });
  if (SYSTEM_LIB) await ensureAptPackages(logFile);
  else await ensureAptPackages(logFile).catch((e) => log(`${(e as Error).message} (not needed for the bundled librdkafka; going on)`));

  if (!args.reinstall && existsSync(marker)) {
    try {
      const m = JSON.parse(readFileSync(marker, 'utf8')) as { version: string; source: string };
      if (m.version.replace(/^v/, '') === CKJS_VERSION && m.source === source) {
        const p = loadPeer(dir);
        if (p.version === CKJS_VERSION) {
          log(`${CKJS_PACKAGE}@${p.version} already built in ${dir} (librdkafka ${p.librdkafka}, ${source})`);
          return { dir, ...p, source, installed: 'present' };
        }
      }
      log(`${dir} holds another build (${m.version}, ${m.source}); reinstalling`);
    } catch (e) {
      log(`existing install in ${dir} does not load (${(e as Error).message.split('\n')[0]}); reinstalling`);
    }
  }

  for (const f of ['node_modules', 'package-lock.json', marker]) rmSync(join(dir, f), { recursive: true, force: true });
  writeFileSync(logFile, '');
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'shardcast-bench-kafka-client-peer', version: '0.0.0', private: true, description: 'Scratch project for bench/kafka-client.ts (not part of the workspace)' }, null, 2)}\n`,
  );
  // A clean npm environment: variables npx/npm run set for the repo (npm_config_*, npm_package_*)
  // must not point the nested install back at the workspace.
  const npmEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
  npmEnv.CKJS_LINKING = 'dynamic';
  npmEnv.npm_config_nodedir = '/usr';
  if (SYSTEM_LIB) npmEnv.BUILD_LIBRDKAFKA = '0';
  const envNote = `CKJS_LINKING=dynamic npm_config_nodedir=/usr${SYSTEM_LIB ? ' BUILD_LIBRDKAFKA=0' : ''}`;
  log(`installing ${CKJS_PACKAGE}@${CKJS_VERSION} into ${dir} (${envNote}; builds from source, a few minutes; log ${logFile})`);
  const t = performance.now();
  const r = await run('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--foreground-scripts', `${CKJS_PACKAGE}@${CKJS_VERSION}`], {
    cwd: dir,
    env: npmEnv,
    logFile,
    timeoutMs: 30 * 60_000,
  });
  const seconds = (performance.now() - t) / 1000;
  if (r.code !== 0) throw new Error(`npm install ${CKJS_PACKAGE}@${CKJS_VERSION} (${envNote}) failed (exit ${r.code}) after ${seconds.toFixed(0)} s: ${whyFailed(r.out)} [log ${logFile}]`);
  let p: { version: string; librdkafka: string };
  try {
    p = loadPeer(dir);
  } catch (e) {
    throw new Error(`${CKJS_PACKAGE}@${CKJS_VERSION} installed but does not load: ${(e as Error).message.split('\n')[0]} [log ${logFile}]`);
  }
  writeFileSync(marker, `${JSON.stringify({ version: p.version, source, librdkafka: p.librdkafka, env: envNote, builtAt: new Date().toISOString() })}\n`);
  log(`built ${CKJS_PACKAGE}@${p.version} with librdkafka ${p.librdkafka} (${source}) in ${seconds.toFixed(0)} s`);
  return { dir, ...p, source, installed: `${seconds.toFixed(0)} s` };
}

// ---------------------------------------------------------------------------------------------
// 2. The topic
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// 3. The consumers
// ---------------------------------------------------------------------------------------------

type Mode = WorkerConfig['mode'];

/** One consumer in its own Node process (bench/kafka-client/consumer.ts). */
async function runWorker(mode: Mode, peer: Peer | undefined): Promise<WorkerResult> {
  const cfg: WorkerConfig = {
    mode,
    brokers: BROKERS,
    topic,
    group: freshGroup(mode),
    n: N,
    concurrency: Number(args.concurrency),
    batch: Number(args.batch),
    ckjsDir: peer?.dir,
    aggregate: args.aggregate,
    timeoutMs: WORKER_TIMEOUT_MS,
  };
  const r = await run(process.execPath, ['--require', require.resolve('tsx/cjs'), WORKER, JSON.stringify(cfg)], { cwd: REPO, timeoutMs: WORKER_TIMEOUT_MS + 60_000 });
  const lines = r.out.split('\n').filter((l) => l.startsWith('{"mode"'));
  if (r.code !== 0 || !lines.length) {
    const tail = r.out.split('\n').filter(Boolean).slice(-8).join(' | ');
    throw new Error(`${mode} consumer exited ${r.code}: ${tail.slice(-1500)}`);
  }
  return JSON.parse(lines[lines.length - 1]) as WorkerResult;
}

/** Waits while another bench/ingest run is loading the machine (a 2-core box: it would skew us). */
async function waitForOtherBenches(): Promise<void> {
  if (args['no-wait']) return;
  const others = () => {
    const found: string[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      try {
        const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
        if (/bench\/ingest(\.ts|\/)/.test(cmd) || /bench\/run\.sh ingest/.test(cmd)) found.push(`${entry}: ${cmd.slice(0, 80)}`);
      } catch {
        // gone meanwhile
      }
    }
    return found;
  };
  const deadline = Date.now() + 30 * 60_000;
  for (let i = 0; ; i++) {
    const busy = others();
    if (!busy.length) return;
    if (Date.now() > deadline) {
      log(`still busy after 30 min (${busy[0]}); measuring anyway`);
      return;
    }
    if (i % 6 === 0) log(`another benchmark is running (${busy[0]}); waiting for it to finish`);
    await new Promise((r) => setTimeout(r, 5_000));
  }
}

/** Share of all CPUs busy over `ms` (from /proc/stat). */
async function cpuBusy(ms: number): Promise<number> {
  const sample = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  return b.total > a.total ? 1 - (b.idle - a.idle) / (b.total - a.total) : 0;
}

/**
 * Before a round: waits (up to 2 min) until the CPUs are mostly idle, since whatever else runs on
 * a 2-core machine comes straight off the consumers' figures. Returns the busy share it started at.
 */
async function waitForIdleCpus(): Promise<number> {
  if (args['no-wait']) return cpuBusy(1_000);
  const deadline = Date.now() + 120_000;
  for (let i = 0; ; i++) {
    const busy = await cpuBusy(2_000);
    if (busy < 0.35) return busy;
    if (Date.now() > deadline) {
      log(`CPUs still ${(busy * 100).toFixed(0)} % busy after 2 min; measuring anyway`);
      return busy;
    }
    if (i % 5 === 0) log(`CPUs ${(busy * 100).toFixed(0)} % busy with other work; waiting`);
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Clean-up
// ---------------------------------------------------------------------------------------------

async function cleanUp(kafka: Kafka): Promise<void> {
  if (args.keep) {
    log(`--keep: leaving topic ${topic} and groups ${groups.join(', ')}`);
    return;
  }
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topicGone = await admin
      .deleteTopics({ topics: [topic], timeout: 30_000 })
      .then(() => true)
      .catch(() => false);
    const groupsDeleted = await deleteExistingGroups(admin, groups, log);
    log(`cleaned up: topic ${topicGone ? 'deleted' : 'not deleted'}, ${groupsDeleted} groups deleted`);
  } catch (e) {
    log(`clean-up failed: ${(e as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  if (!Number.isInteger(N) || N <= 0) throw new Error('--records must be a positive integer');
  const kafkajsVersion = (JSON.parse(readFileSync(require.resolve('kafkajs/package.json'), 'utf8')) as { version: string }).version;

  // 1. The peer first, so that its build (CPU-heavy) is over before anything is measured; and
  //    not while another benchmark is measuring.
  await waitForOtherBenches();
  let peer: Peer | undefined;
  let ckjsError: string | null = null;
  if (args['skip-ckjs']) ckjsError = 'skipped (--skip-ckjs)';
  else {
    try {
      peer = await ensurePeer();
    } catch (e) {
      ckjsError = (e as Error).message;
      log(`ckjs unavailable: ${ckjsError}`);
    }
  }

  // Ingest's native consumer, built by `npm run build` (bench/run.sh runs it first).
  let nativeError: string | null = args['skip-native'] ? 'skipped (--skip-native)' : (loadLibrdkafkaConsumer().error ?? null);
  if (nativeError && !args['skip-native']) log(`native consumer unavailable: ${nativeError}`);

  const kafka = createKafka(BROKERS, 'shardcast-bench');
  try {
    // 2. The topic.
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureTopics(kafka, [{ name: Topics.telemetryRequests, compacted: false }], PARTITIONS, prefix);
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
        log(`ensureTopics failed (${(err as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
    log(`topic ${topic} (${PARTITIONS} partitions); producing ${fmt(N)} records with kcat`);
    const tp = performance.now();
    const sent = await produceTelemetry({ brokers: env.KAFKA_BROKERS, topic, records: N, domains: Number(args.domains), stepMs: 20, compression: 'none' });
    const produced = { valueBytes: sent.payloadBytes, perPartition: await partitionCounts(kafka, topic) };
    const produceS = (performance.now() - tp) / 1000;
    const inTopic = produced.perPartition.reduce((a, b) => a + b, 0);
    if (inTopic !== N) throw new Error(`topic holds ${inTopic} messages, expected ${N}`);
    log(`produced in ${produceS.toFixed(1)} s; per partition ${produced.perPartition.join(', ')}; avg value ${(produced.valueBytes / N).toFixed(0)} B`);

    // 3. Rounds: reference, kafkajs, ckjs KafkaJS API, ckjs consume(); fresh group and process each.
    const perfRuns: ConsumerPerformanceResult[] = [];
    const modes: Mode[] = ['kafkajs', ...(peer ? (['ckjs-kafkajs', 'ckjs-consume'] as const) : []), ...(nativeError ? [] : (['native-packed'] as const))];
    const results: Record<Mode, WorkerResult[]> = { kafkajs: [], 'ckjs-kafkajs': [], 'ckjs-consume': [], 'native-packed': [] };
    const modeErrors: Partial<Record<Mode, string>> = {};
    const mismatches: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      await waitForOtherBenches();
      const busy = await waitForIdleCpus();
      log(`round ${i + 1}/${RUNS} (CPUs ${(busy * 100).toFixed(0)} % busy before it; load average ${os.loadavg()[0].toFixed(2)})`);
      if (!args['skip-kafka-perf']) {
        const r = await consumerPerformance(env.KAFKA_BROKERS, topic, N, freshGroup('kperf'));
        perfRuns.push(r);
        log(`  ConsumerPerformance: ${fmt(r.nMsgSec)} msg/s (fetch ${fmt(r.fetchNMsgSec)} msg/s)`);
      }
      for (const mode of modes) {
        if (modeErrors[mode]) continue;
        try {
          const r = await runWorker(mode, mode.startsWith('ckjs') ? peer : undefined);
          results[mode].push(r);
          if (args.aggregate && r.records !== N) mismatches.push(`${mode} round ${i + 1}: aggregated ${r.records} records (expected ${N})`);
          if (r.count !== N || r.valueBytes !== produced.valueBytes) mismatches.push(`${mode} round ${i + 1}: ${r.count} messages, ${r.valueBytes} value bytes (expected ${N}, ${produced.valueBytes})`);
          log(`  ${mode.padEnd(12)}: ${fmt(r.rps)} msg/s (${(r.consumeMs / 1000).toFixed(2)} s; first callback ${r.firstBatch} msgs; first message after ${fmt(r.firstMessageMs)} ms; RSS ${r.peakRssMb} MB; ${r.variant})`);
        } catch (e) {
          if (mode === 'kafkajs') throw e;
          modeErrors[mode] = (e as Error).message;
          log(`  ${mode}: failed: ${modeErrors[mode]}`);
        }
      }
    }

    // 4. Report.
    const med = (mode: Mode) => (results[mode].length ? median(results[mode].map((r) => r.rps)) : NaN);
    const medOf = (mode: Mode) => results[mode].find((r) => r.rps === med(mode));
    const perf = perfRuns.length ? perfRuns.find((r) => r.nMsgSec === median(perfRuns.map((p) => p.nMsgSec))) : undefined;
    const perfFetch = perfRuns.length ? median(perfRuns.map((r) => r.fetchNMsgSec)) : NaN;
    const kjs = med('kafkajs');
    const ckApi = med('ckjs-kafkajs');
    const ckConsume = med('ckjs-consume');
    const nativePacked = med('native-packed');
    const ckBest = Math.max(...[ckApi, ckConsume].filter(Number.isFinite));
    const ckjsRps = Number.isFinite(ckBest) ? ckBest : NaN;
    if (modeErrors['native-packed']) nativeError = modeErrors['native-packed'];
    if (peer && !ckjsError && (modeErrors['ckjs-kafkajs'] || modeErrors['ckjs-consume'])) {
      ckjsError = Object.entries(modeErrors)
        .filter(([m]) => m.startsWith('ckjs'))
        .map(([m, e]) => `${m}: ${e}`)
        .join('; ');
    }
    const all = (xs: number[]) => (xs.length > 1 ? `; runs ${xs.map(fmt).join(' / ')}` : '');
    const row = (name: string, rps: number, note: string) => `${name.padEnd(50)} ${fmt(rps).padStart(10)}  ${note}`;
    const workerRow = (name: string, mode: Mode) => {
      const m = medOf(mode);
      if (!m) return row(name, NaN, modeErrors[mode] ? `FAILED: ${modeErrors[mode]!.slice(0, 300)}` : `not measured${ckjsError ? `: ${ckjsError.slice(0, 300)}` : ''}`);
      return row(name, m.rps, `${(m.consumeMs / 1000).toFixed(2)} s first→N-th msg (first callback ${fmt(m.firstBatch)} msgs); connect→first msg ${fmt(m.firstMessageMs)} ms; RSS ${m.peakRssMb} MB${all(results[mode].map((r) => r.rps))}`);
    };
    const ckName = `ckjs ${peer?.version ?? CKJS_VERSION}`;
    const out: string[] = [];
    out.push('');
    out.push(`kafka-client benchmark: ${fmt(N)} records, ${PARTITIONS} partitions (${produced.perPartition.join('/')}), value ≈${(produced.valueBytes / N).toFixed(0)} B, ${RUNS} rounds, medians; ${os.cpus().length} CPUs`);
    out.push(`peer: ${peer ? `${CKJS_PACKAGE}@${peer.version}, librdkafka ${peer.librdkafka} (${peer.source}), in ${peer.dir} (${peer.installed === 'present' ? 'already built' : `built in ${peer.installed}`})` : `${CKJS_PACKAGE}@${CKJS_VERSION}: UNAVAILABLE: ${ckjsError}`}`);
    out.push(`${'consumer'.padEnd(50)} ${'msg/s'.padStart(10)}  notes`);
    out.push('-'.repeat(120));
    if (perf) {
      out.push(row('Kafka ConsumerPerformance nMsg.sec', perf.nMsgSec, `${perf.mbSec.toFixed(1)} MB/s; includes join ${perf.rebalanceMs} ms; excludes JVM start${all(perfRuns.map((r) => r.nMsgSec))}`));
      out.push(row('Kafka ConsumerPerformance fetch.nMsg.sec', perfFetch, `join excluded${all(perfRuns.map((r) => r.fetchNMsgSec))}`));
    }
    out.push(workerRow(`kafkajs ${kafkajsVersion} eachBatch (PartitionBatchConsumer)`, 'kafkajs'));
    out.push(workerRow(`${ckName} KafkaJS API`, 'ckjs-kafkajs'));
    out.push(workerRow(`${ckName} KafkaConsumer.consume(${args.batch})`, 'ckjs-consume'));
    out.push(
      medOf('native-packed') || modeErrors['native-packed']
        ? workerRow(`ingest's native consumer (librdkafka, batches ≤ ${args.batch})`, 'native-packed')
        : row(`ingest's native consumer`, NaN, `not measured: ${nativeError ?? ''}`.slice(0, 300)),
    );
    out.push('-'.repeat(120));
    for (const mode of modes) {
      const m = medOf(mode);
      if (m) out.push(`${mode}: ${m.variant}`);
    }
    if (Number.isFinite(nativePacked)) out.push(`ratio native / kafkajs eachBatch = ${(nativePacked / kjs).toFixed(3)}; native / ConsumerPerformance nMsg.sec = ${perf ? (nativePacked / perf.nMsgSec).toFixed(3) : '–'}`);
    out.push(`ratio ckjs / kafkajs eachBatch = ${Number.isFinite(ckjsRps / kjs) ? (ckjsRps / kjs).toFixed(3) : '–'} (ckjs = the faster of its two APIs)`);
    // Both sides without the group join: the consumers' clocks start at their first message.
    if (Number.isFinite(kjs) && Number.isFinite(perfFetch)) out.push(`kafkajs eachBatch / ConsumerPerformance fetch.nMsg.sec = ${(kjs / perfFetch).toFixed(3)} (join excluded on both sides; the consumers' first fetch is counted: at 1M records about 2 % in kafkajs' favour, far more on small runs)`);
    out.push(mismatches.length ? `MISMATCH: ${mismatches.join('; ')}` : `every consumer read exactly ${fmt(N)} messages and ${fmt(produced.valueBytes)} value bytes`);
    if (perf) out.push(`ConsumerPerformance output (median run):\n  ${perf.header}\n  ${perf.line}`);
    console.log(out.join('\n'));
    if (mismatches.length) process.exitCode = 1;
    const r = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d)));
    console.log(
      JSON.stringify({
        bench: 'kafka-client',
        records: N,
        kafkajs_eachBatch_rps: r(kjs),
        ckjs_kafkajs_api_rps: r(ckApi),
        ckjs_consume_rps: r(ckConsume),
        ckjs_rps: r(ckjsRps),
        native_packed_rps: r(nativePacked),
        ratio_native_packed_to_kafkajs: r(nativePacked / kjs, 3),
        ratio_native_packed_to_kafka_consumer: r(nativePacked / (perf?.nMsgSec ?? NaN), 3),
        native_error: nativeError,
        ckjs_version: peer?.version ?? CKJS_VERSION,
        librdkafka: peer?.librdkafka ?? null,
        librdkafka_source: SYSTEM_LIB ? 'system' : 'bundled',
        kafka_consumer_rps: r(perf?.nMsgSec),
        kafka_consumer_fetch_rps: r(perfFetch),
        ratio_ckjs_to_kafkajs: r(ckjsRps / kjs, 3),
        ckjs_kafkajs_api_variant: medOf('ckjs-kafkajs')?.variant ?? null,
        kafkajs_version: kafkajsVersion,
        ckjs_error: ckjsError,
        exact: mismatches.length === 0,
      }),
    );
  } finally {
    await cleanUp(kafka);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
