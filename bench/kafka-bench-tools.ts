/**
 * What the Kafka benchmarks share: the telemetry topic they fill with kcat, Kafka's own
 * ConsumerPerformance as the reference reader of that topic, and removing their groups.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Admin, Kafka } from 'kafkajs';
import { generateTelemetry, KCAT_PRODUCER_SETTINGS } from '@shardcast/test-stack';

const KAFKA_TOOL = resolve(__dirname, '..', 'deploy', 'local', 'kafka-tool.sh');

/** What a production put on the topic, to check a consumer's totals against. */
export interface ProducedTelemetry {
  requests: number;
  errors: number;
  bytes: number;
  /** Sum of the message values' sizes. */
  payloadBytes: number;
  /** Records per domain. */
  byDomain: Map<string, number>;
}

/**
 * Streams `records` generateTelemetry records (key = domain, event time rising `stepMs` per
 * record) into one kcat producer (librdkafka, murmur2 partitioner like Java and kafkajs),
 * generating in chunks to bound memory. Every chunk of kcat input also goes to `tee` (if given).
 */
export async function produceTelemetry(options: {
  brokers: string;
  topic: string;
  records: number;
  domains: number;
  stepMs: number;
  /** Domains drawn by Zipf's law with this exponent (generateTelemetry's zipfS); uniformly without. */
  zipfS?: number;
  compression: string;
  tee?: (lines: string) => Promise<void>;
}): Promise<ProducedTelemetry> {
  const produced: ProducedTelemetry = { requests: 0, errors: 0, bytes: 0, payloadBytes: 0, byDomain: new Map() };
  const kcat = startKcatProducer(options.brokers, options.topic, options.compression);
  const chunk = 50_000;
  const start = Date.UTC(2014, 3, 10);
  for (let done = 0; done < options.records; done += chunk) {
    const n = Math.min(chunk, options.records - done);
    const records = generateTelemetry(n, { seed: 42 + done, domains: options.domains, startMs: start + Math.floor(done * options.stepMs), stepMs: options.stepMs, zipfS: options.zipfS });
    let text = '';
    for (const r of records) {
      const json = JSON.stringify(r);
      produced.requests += 1;
      if (r.status >= 500) produced.errors += 1;
      produced.bytes += r.bytes;
      produced.payloadBytes += json.length; // ASCII
      produced.byDomain.set(r.domain, (produced.byDomain.get(r.domain) ?? 0) + 1);
      text += `${r.domain}\t${json}\n`;
    }
    await options.tee?.(text);
    if (!kcat.input.write(text)) await once(kcat.input, 'drain');
  }
  kcat.input.end();
  await kcat.done;
  return produced;
}

/**
 * A kcat producer reading `key\tvalue` lines from `input`; `done` settles when it has sent them.
 * Idempotent (KCAT_PRODUCER_SETTINGS): without it a retried batch could land behind later ones,
 * and its records, minutes behind their partition's newest in event time, would count as late.
 */
export function startKcatProducer(brokers: string, topic: string, compression = 'none'): { input: NodeJS.WritableStream; done: Promise<void> } {
  const child = spawn(
    'kcat',
    ['-b', brokers, '-t', topic, '-P', '-K', '\t', '-z', compression,
      '-X', 'partitioner=murmur2_random', '-X', 'linger.ms=50', '-X', 'batch.num.messages=10000',
      '-X', 'queue.buffering.max.messages=2000000', '-X', 'queue.buffering.max.kbytes=2000000', ...KCAT_PRODUCER_SETTINGS],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr.on('data', (d) => stderr.push(String(d)));
  const done = once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`kcat producer exited ${code}: ${stderr.join('').slice(0, 2000)}`);
  });
  return { input: child.stdin, done };
}

/** Messages per partition of a topic, partition order. */
export async function partitionCounts(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high) - Number(o.low));
  } finally {
    await admin.disconnect();
  }
}

/** Each partition's end offset (the next offset to be written), partition order. */
export async function partitionEndOffsets(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
  } finally {
    await admin.disconnect();
  }
}

/**
 * How many messages of an event topic (from `fromOffsets`, per partition, to its end) there are
 * and how many distinct `eventId`s they carry: an outbox is at-least-once, so a relay may send an
 * event twice and consumers deduplicate on its id. Read with kcat, ids only kept.
 */
export async function countDistinctEvents(brokers: string, topic: string, fromOffsets: number[]): Promise<{ messages: number; distinct: number }> {
  const ids = new Set<string>();
  let messages = 0;
  for (const [partition, from] of fromOffsets.entries()) {
    const child = spawn('kcat', ['-b', brokers, '-C', '-e', '-q', '-t', topic, '-p', String(partition), '-o', String(from), '-f', '%s\n'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = once(child, 'exit');
    for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
      if (!line) continue;
      messages += 1;
      // Events are serialised with eventId first; anything else is parsed whole.
      ids.add(line.startsWith(EVENT_ID_PREFIX) ? line.slice(EVENT_ID_PREFIX.length, line.indexOf('"', EVENT_ID_PREFIX.length)) : String(JSON.parse(line).eventId));
    }
    const [code] = await exited;
    if (code !== 0) throw new Error(`kcat reading ${topic} [${partition}] exited ${code}: ${stderr.slice(0, 2000)}`);
  }
  return { messages, distinct: ids.size };
}
const EVENT_ID_PREFIX = '{"eventId":"';

export interface ConsumerPerformanceResult {
  /** The CSV header and line as printed. */
  header: string;
  line: string;
  mbSec: number;
  /** Includes the group join (rebalance.time.ms). */
  nMsgSec: number;
  rebalanceMs: number;
  /** Excludes the join. */
  fetchNMsgSec: number;
  /** JVM start to exit: not part of either rate. */
  processWallMs: number;
}

/** Kafka's ConsumerPerformance reading `messages` from `topic` with a fresh `group`. */
export async function consumerPerformance(brokers: string, topic: string, messages: number, group: string): Promise<ConsumerPerformanceResult> {
  const started = Date.now();
  const child = spawn('bash', [KAFKA_TOOL, 'org.apache.kafka.tools.ConsumerPerformance', '--bootstrap-server', brokers, '--topic', topic, '--messages', String(messages), '--group', group, '--timeout', '30000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const [code] = await once(child, 'exit');
  const processWallMs = Date.now() - started;
  if (code !== 0) throw new Error(`ConsumerPerformance exited ${code}: ${err.slice(0, 2000)}`);
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  const headerIdx = lines.findIndex((l) => l.startsWith('start.time'));
  if (headerIdx < 0 || !lines[headerIdx + 1]) throw new Error(`ConsumerPerformance printed no result: ${(out + err).slice(0, 2000)}`);
  const header = lines[headerIdx];
  const line = lines[headerIdx + 1];
  const names = header.split(',').map((s) => s.trim());
  const cells = line.split(',').map((s) => s.trim());
  const get = (name: string) => Number(cells[names.indexOf(name)]);
  return { header, line, mbSec: get('MB.sec'), nMsgSec: get('nMsg.sec'), rebalanceMs: get('rebalance.time.ms'), fetchNMsgSec: get('fetch.nMsg.sec'), processWallMs };
}

/** The run in the middle when sorted by `by` (the lower middle of an even count). */
export const median = <T>(xs: T[], by: (x: T) => number): T => [...xs].sort((a, b) => by(a) - by(b))[Math.floor((xs.length - 1) / 2)];

/**
 * ConsumerPerformance `runs` times on `topic` (a fresh group each: short runs on a shared machine
 * are noisy), each logged; the runs, the median run by nMsg.sec and the median fetch.nMsg.sec.
 */
export async function consumerPerformanceRuns(
  brokers: string,
  topic: string,
  messages: number,
  runs: number,
  freshGroup: () => string,
  log: (msg: string) => void,
): Promise<{ runs: ConsumerPerformanceResult[]; median: ConsumerPerformanceResult; fetchNMsgSec: number }> {
  const results: ConsumerPerformanceResult[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await consumerPerformance(brokers, topic, messages, freshGroup());
    results.push(r);
    const num = (n: number) => Math.round(n).toLocaleString('en-US');
    log(`ConsumerPerformance ${i + 1}/${runs}: ${num(r.nMsgSec)} msg/s (fetch ${num(r.fetchNMsgSec)} msg/s), JVM process ${(r.processWallMs / 1000).toFixed(1)} s`);
  }
  return { runs: results, median: median(results, (r) => r.nMsgSec), fetchNMsgSec: median(results, (r) => r.fetchNMsgSec).fetchNMsgSec };
}

/** Deletes those of `groups` that exist (a bench's fresh groups); returns how many. */
export async function deleteExistingGroups(admin: Admin, groups: string[], log: (msg: string) => void): Promise<number> {
  const existing = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
  const mine = groups.filter((g) => existing.has(g));
  if (mine.length) await admin.deleteGroups(mine).catch((e: Error) => log(`delete groups: ${e.message}`));
  return mine.length;
}
