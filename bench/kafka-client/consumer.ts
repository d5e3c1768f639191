/**
 * One timed consumer for bench/kafka-client.ts, run in its own process so one client's heap, GC
 * and native threads never share a process with another's:
 *
 *   node --require tsx/cjs bench/kafka-client/consumer.ts '<json WorkerConfig>'
 *
 * Joins a fresh group, reads the topic from the beginning, counts messages and sums value
 * lengths; t0 = the first message (batch) handed to the application, t1 = the N-th. Prints one
 * JSON line (WorkerResult) on stdout; logs go to stderr. Modes:
 *   kafkajs       kafkajs eachBatch with PartitionBatchConsumer's settings (4 MB per partition,
 *                 32 MB per fetch, partitionsConsumedConcurrently, autoCommit off).
 *   ckjs-kafkajs  @confluentinc/kafka-javascript's KafkaJS-compatible API with the same fetch
 *                 sizes (as librdkafka properties, see below): eachBatch if the version has it,
 *                 else eachMessage; partitionsConsumedConcurrently if the version has it.
 *   ckjs-consume  its node-rdkafka-style KafkaConsumer: consume(batch) in a loop, fetch-tuned.
 *   native-packed ingest's LibrdkafkaBatchConsumer (libs/ingest-native, the system's
 *                 librdkafka) with the same fetch tuning: each consume(batch) handed over as one
 *                 Buffer plus typed arrays, split into per-partition runs.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PartitionMessage, PartitionProgress } from '@shardcast/telemetry';

export interface WorkerConfig {
  mode: 'kafkajs' | 'ckjs-kafkajs' | 'ckjs-consume' | 'native-packed';
  brokers: string[];
  topic: string;
  group: string;
  /** Messages to count (the topic holds exactly this many). */
  n: number;
  /** partitionsConsumedConcurrently (kafkajs, ckjs-kafkajs). */
  concurrency: number;
  /** consume(batch) size (ckjs-consume). */
  batch: number;
  /** The scratch npm project holding @confluentinc/kafka-javascript (ckjs modes). */
  ckjsDir?: string;
  /**
   * Also decode, validate and aggregate every message with ingest's own pure code
   * (aggregatePartitionMessages, default regions and policy; nothing stored): the ceiling of an
   * ingest on this client before persistence.
   */
  aggregate?: boolean;
  timeoutMs: number;
}

export interface WorkerResult {
  mode: string;
  /** What actually ran, e.g. "eachBatch, partitionsConsumedConcurrently 3". */
  variant: string;
  count: number;
  valueBytes: number;
  /** From connect() to the first message: start-up, group join, first fetch. */
  firstMessageMs: number;
  /** From the first message to the N-th. */
  consumeMs: number;
  /** Messages in the first callback (counted, though they arrived before t0). */
  firstBatch: number;
  rps: number;
  peakRssMb: number;
  /** With `aggregate`: records accepted + rejected (must equal the records produced). */
  records?: number;
}

const MB = 1024 * 1024;
/** PartitionBatchConsumer's fetch sizes (libs/platform/src/partition-batch-consumer.ts). */
const PBC = { maxBytesPerPartition: 4 * MB, maxBytes: 32 * MB, sessionTimeout: 30_000, heartbeatInterval: 3_000 };
/** librdkafka fetch tuning for the consume() loop: big fetches and a deep pre-fetch queue. */
const RDKAFKA_FETCH_TUNED = {
  'fetch.max.bytes': 100 * MB,
  'max.partition.fetch.bytes': 10 * MB,
  'queued.min.messages': 1_000_000,
  'queued.max.messages.kbytes': 1024 * 1024,
};

const log = (msg: string) => process.stderr.write(`[consumer] ${msg}\n`);

/* eslint-disable @typescript-eslint/no-explicit-any -- the peer is loaded untyped from outside the repo */
type Any = any;

function versionLess(a: string, b: string): boolean {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] < pb[i];
  return false;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2]) as WorkerConfig;
  let count = 0;
  let valueBytes = 0;
  let t0 = 0;
  let t1 = 0;
  let firstBatch = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const seen = (n: number, bytes: number) => {
    if (!t0) {
      t0 = performance.now();
      firstBatch = n;
    }
    count += n;
    valueBytes += bytes;
    if (!t1 && count >= cfg.n) {
      t1 = performance.now();
      finish();
    }
  };
  // Ingest's pure per-partition step, as the real service runs it (one progress per partition).
  let aggregateRun: ((partition: number, messages: readonly PartitionMessage[]) => void) | undefined;
  let recordsSeen = 0;
  if (cfg.aggregate) {
    const { aggregatePartitionMessages, parseRegionTable, RegionLocator } = await import('@shardcast/telemetry');
    const regionsFile = join(__dirname, '..', '..', 'data', 'regions', 'awsData.js');
    const locator = new RegionLocator(parseRegionTable(readFileSync(regionsFile, 'utf8')), new Map());
    const policy = { allowedLatenessMs: 120_000, maxFutureSkewMs: 300_000 };
    const progress = new Map<number, PartitionProgress>();
    aggregateRun = (partition, messages) => {
      const from = progress.get(partition) ?? { nextOffset: 0n, maxEventTimeMs: -Infinity };
      const delta = aggregatePartitionMessages(from, messages, locator, policy, Date.now());
      progress.set(partition, delta.progress);
      recordsSeen += delta.accepted + delta.rejections.length;
    };
  }
  const tStart = performance.now();
  let variant = '';
  let stop: () => Promise<unknown>;

  if (cfg.mode === 'kafkajs') {
    const { Kafka, logLevel } = await import('kafkajs');
    const kafka = new Kafka({ clientId: 'shardcast-bench-kafka-client', brokers: cfg.brokers, logLevel: logLevel.ERROR });
    const consumer = kafka.consumer({ groupId: cfg.group, ...PBC });
    await consumer.connect();
    await consumer.subscribe({ topic: cfg.topic, fromBeginning: true });
    variant = `${cfg.aggregate ? 'aggregate; ' : ''}eachBatch, partitionsConsumedConcurrently ${cfg.concurrency}`;
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: cfg.concurrency,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        let bytes = 0;
        for (const m of batch.messages) bytes += m.value?.length ?? 0;
        aggregateRun?.(batch.partition, batch.messages);
        if (batch.messages.length) resolveOffset(batch.messages[batch.messages.length - 1].offset);
        seen(batch.messages.length, bytes);
      },
    });
    stop = () => consumer.disconnect();
  } else if (cfg.mode === 'native-packed') {
    // Ingest's own consumer, as ingest runs it (per-partition runs, commits after the handler),
    // with the same fetch tuning as ckjs-consume; the handler only counts (and aggregates).
    const { createLogger } = await import('@shardcast/platform');
    const { LibrdkafkaBatchConsumer } = await import('@shardcast/ingest-native');
    const consumer = new LibrdkafkaBatchConsumer(
      { brokers: cfg.brokers, groupId: cfg.group, topic: cfg.topic, clientId: 'shardcast-bench-kafka-client', maxBatchMessages: cfg.batch, librdkafka: RDKAFKA_FETCH_TUNED },
      {
        handleBatch: async ({ partition, messages }) => {
          let bytes = 0;
          // Values stay in the packed buffer: their lengths without building a view per message.
          for (const m of messages) bytes += m.valueBuffer === undefined ? (m.value?.length ?? 0) : m.valueEnd! - m.valueStart!;
          aggregateRun?.(partition, messages);
          seen(messages.length, bytes);
        },
        storedOffset: async () => null,
      },
      createLogger('bench-kafka-client', 'error'),
    );
    variant = `${cfg.aggregate ? 'aggregate; ' : ''}LibrdkafkaBatchConsumer, batches of ≤ ${cfg.batch} on librdkafka ${consumer.librdkafkaVersion}; fetch-tuned as ckjs-consume`;
    await consumer.start();
    stop = () => consumer.stop();
  } else {
    if (!cfg.ckjsDir) throw new Error('ckjsDir is required for the ckjs modes');
    const req = createRequire(join(cfg.ckjsDir, 'package.json'));
    const pkgDir = dirname(req.resolve('@confluentinc/kafka-javascript/package.json'));
    const rd: Any = req(join(pkgDir, 'lib', 'rdkafka'));
    const librdkafka: string = rd.librdkafkaVersion;
    if (versionLess(librdkafka, '2.3.0')) {
      // The KafkaJS layer always sets 'retry.backoff.max.ms', which librdkafka < 2.3 rejects as
      // unknown (e.g. Debian 12's 2.0.2): drop it before the native client sees the config.
      const Orig = rd.KafkaConsumer;
      rd.KafkaConsumer = function (conf: Record<string, unknown>, topicConf: unknown) {
        delete conf['retry.backoff.max.ms'];
        return new Orig(conf, topicConf);
      };
    }
    const ckjs: Any = req('@confluentinc/kafka-javascript');

    if (cfg.mode === 'ckjs-kafkajs') {
      const { KafkaJS } = ckjs;
      const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: cfg.brokers, clientId: 'shardcast-bench-kafka-client', logLevel: KafkaJS.logLevel.ERROR } });
      // Fetch sizes as librdkafka properties: the KafkaJS layer maps maxBytes to
      // fetch.message.max.bytes, an alias of max.partition.fetch.bytes, and sets that to 10 MB when
      // maxBytes is absent, so maxBytesPerPartition would not hold. Top-level keys override it.
      const consumer = kafka.consumer({
        kafkaJS: { groupId: cfg.group, fromBeginning: true, autoCommit: false },
        'fetch.message.max.bytes': PBC.maxBytesPerPartition,
        'fetch.max.bytes': PBC.maxBytes,
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [cfg.topic] });
      const eachBatch = async ({ batch }: Any) => {
        let bytes = 0;
        for (const m of batch.messages) bytes += m.value?.length ?? 0;
        seen(batch.messages.length, bytes);
      };
      const eachMessage = async ({ message }: Any) => seen(1, message.value?.length ?? 0);
      // Older versions refuse eachBatch and partitionsConsumedConcurrently in run(), before
      // starting anything (0.1.9-devel: ERR__NOT_IMPLEMENTED for eachBatch, and a TypeError from its
      // own missing message helper for partitionsConsumedConcurrently): try the richest form first.
      const attempts: Array<[string, Record<string, unknown>]> = [
        [`eachBatch, partitionsConsumedConcurrently ${cfg.concurrency}`, { eachBatch, partitionsConsumedConcurrently: cfg.concurrency }],
        ['eachBatch', { eachBatch }],
        [`eachMessage, partitionsConsumedConcurrently ${cfg.concurrency}`, { eachMessage, partitionsConsumedConcurrently: cfg.concurrency }],
        ['eachMessage', { eachMessage }],
      ];
      const refused: string[] = [];
      for (const [name, options] of attempts) {
        try {
          await consumer.run(options);
          // eachBatch batches hold at most js.consumer.max.batch.size messages, 32 by default in
          // 1.x; -1 (unbounded) was slower in an exploratory run here (86k against 96k msg/s).
          variant = name.startsWith('eachBatch') ? `${name}, js.consumer.max.batch.size default (32)` : name;
          break;
        } catch (err) {
          const e = err as { code?: number; message?: string };
          refused.push(`${name}: ${(e.message ?? String(err)).trim()}${e.code !== undefined ? ` (code ${e.code})` : ''}`);
        }
      }
      if (!variant) throw new Error(`run() refused every form: ${refused.join('; ')}`);
      if (refused.length) {
        log(`run() refused: ${refused.join('; ')}`);
        variant += ` (refused by this version: ${refused.map((r) => r.split(':')[0]).join(' / ')})`;
      }
      stop = () => consumer.disconnect();
    } else {
      const consumer = new ckjs.KafkaConsumer(
        { 'bootstrap.servers': cfg.brokers.join(','), 'group.id': cfg.group, 'enable.auto.commit': false, ...RDKAFKA_FETCH_TUNED },
        { 'auto.offset.reset': 'earliest' },
      );
      await new Promise<void>((res, rej) => consumer.connect({}, (err: Error | null) => (err ? rej(err) : res())));
      consumer.setDefaultConsumeTimeout(100);
      consumer.subscribe([cfg.topic]);
      variant = `consume(${cfg.batch}) loop; ${Object.entries(RDKAFKA_FETCH_TUNED).map(([k, v]) => `${k}=${v}`).join(', ')}`;
      const loop = () =>
        consumer.consume(cfg.batch, (err: Error | null, messages: Array<{ value: Buffer | null }>) => {
          if (err) log(`consume error: ${err.message}`);
          else if (messages.length) {
            let bytes = 0;
            for (const m of messages) bytes += m.value?.length ?? 0;
            seen(messages.length, bytes);
          }
          if (!t1) setImmediate(loop);
        });
      loop();
      stop = () => new Promise<void>((r) => consumer.disconnect(() => r()));
    }
  }

  const timer = setTimeout(() => {
    log(`timeout: ${count} of ${cfg.n} messages within ${cfg.timeoutMs} ms`);
    process.exit(3);
  }, cfg.timeoutMs);
  await finished;
  clearTimeout(timer);
  const consumeMs = t1 - t0;
  const result: WorkerResult = {
    mode: cfg.mode,
    variant,
    count,
    valueBytes,
    firstMessageMs: t0 - tStart,
    consumeMs,
    firstBatch,
    rps: (count / consumeMs) * 1000,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(cfg.aggregate ? { records: recordsSeen } : {}),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // Leave the group politely, but never let a slow close hold the benchmark up.
  await Promise.race([stop().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000))]);
  process.exit(0);
}

main().catch((err) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
