/**
 * What the Kafka benchmarks share: the telemetry topic they fill with kcat, Kafka's own
 * ConsumerPerformance as the reference reader of that topic, and removing their groups.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
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
  compression: string;
  tee?: (lines: string) => Promise<void>;
}): Promise<ProducedTelemetry> {
  const produced: ProducedTelemetry = { requests: 0, errors: 0, bytes: 0, payloadBytes: 0 };
  const kcat = startKcatProducer(options.brokers, options.topic, options.compression);
  const chunk = 50_000;
  const start = Date.UTC(2014, 3, 10);
  for (let done = 0; done < options.records; done += chunk) {
    const n = Math.min(chunk, options.records - done);
    const records = generateTelemetry(n, { seed: 42 + done, domains: options.domains, startMs: start + Math.floor(done * options.stepMs), stepMs: options.stepMs });
    let text = '';
    for (const r of records) {
      const json = JSON.stringify(r);
      produced.requests += 1;
      if (r.status >= 500) produced.errors += 1;
      produced.bytes += r.bytes;
      produced.payloadBytes += json.length; // ASCII
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

/** Deletes those of `groups` that exist (a bench's fresh groups); returns how many. */
export async function deleteExistingGroups(admin: Admin, groups: string[], log: (msg: string) => void): Promise<number> {
  const existing = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
  const mine = groups.filter((g) => existing.has(g));
  if (mine.length) await admin.deleteGroups(mine).catch((e: Error) => log(`delete groups: ${e.message}`));
  return mine.length;
}
