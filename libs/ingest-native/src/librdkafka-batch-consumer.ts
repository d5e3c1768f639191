import type { BatchConsumer, BatchMessage, Logger, PackedRun, PartitionBatch, PartitionBatchHandler } from '@shardcast/platform';
import { AddonLoad, loadAddon } from './addon-loader';

/**
 * Constants the C side shares with this file (META_FIELDS, librdkafka's RD_KAFKA_OFFSET_INVALID):
 * the loader refuses an addon built with others.
 */
const LIBRDKAFKA_LAYOUT = {
  metaFields: 5,
  /** Start at the committed offset, else auto.offset.reset. */
  offsetInvalid: -1001,
} as const;

/** What native/librdkafka-batch-consumer.c returns from one consume call. */
interface PackedBatch {
  count: number;
  buffer: Buffer;
  /** [partition, valueStart, valueLength, keyStart, keyLength] per message (metaFields); length -1 = null. */
  meta: Int32Array;
  offsets: Float64Array;
  /** `at`: how many messages of this batch came before the event. */
  events: Array<{ kind: 'assigned' | 'revoked'; partitions: number[]; at: number }>;
  errors: string[];
}

export type Handle = object & { readonly __brand?: 'librdkafka-handle' };

export interface NativeConsumer {
  open(config: string[], topic: string): Handle;
  consume(handle: Handle, maxMessages: number, timeoutMs: number): Promise<PackedBatch>;
  commit(handle: Handle, topic: string, partitions: number[], nextOffsets: number[]): void;
  /** Answers an 'assigned' event; librdkafka fetches nothing of those partitions before it. */
  assign(handle: Handle, topic: string, partitions: number[], offsets: number[]): void;
  close(handle: Handle): Promise<void>;
  librdkafkaVersion(): string;
  /** The producer in the same addon (native/librdkafka-producer.c). */
  producerOpen(config: string[]): Handle;
  producerSend(handle: Handle, topic: string, keys: string[], values: string[]): Promise<void>;
  producerClose(handle: Handle): Promise<void>;
  producerFatalError(handle: Handle): string | null;
  layout: Record<string, number>;
}

const ADDON = 'librdkafka_batch_consumer';
const { metaFields: META_FIELDS, offsetInvalid: KAFKA_COMMITTED_OFFSET } = LIBRDKAFKA_LAYOUT;

/**
 * A message of a packed batch: its value is read in place (valueBuffer/valueStart/valueEnd);
 * `value` and `key` build Buffer views only when asked (dead letters), not per message.
 */
class PackedMessage implements BatchMessage {
  readonly valueBuffer: Buffer | undefined;
  readonly valueStart: number;
  readonly valueEnd: number;
  private readonly keyStart: number;
  private readonly keyLength: number;

  constructor(
    private readonly buffer: Buffer,
    meta: Int32Array,
    row: number,
    readonly offset: number,
  ) {
    const valueLength = meta[row + 2];
    this.valueBuffer = valueLength < 0 ? undefined : buffer;
    this.valueStart = meta[row + 1];
    this.valueEnd = this.valueStart + Math.max(0, valueLength);
    this.keyStart = meta[row + 3];
    this.keyLength = meta[row + 4];
  }

  get value(): Buffer | null {
    return this.valueBuffer === undefined ? null : this.buffer.subarray(this.valueStart, this.valueEnd);
  }

  get key(): Buffer | null {
    return this.keyLength < 0 ? null : this.buffer.subarray(this.keyStart, this.keyStart + this.keyLength);
  }
}

/** The native addon, or why it cannot be used (not built: it needs gcc and librdkafka-dev; see addon-loader.ts). */
export function loadLibrdkafkaConsumer(): AddonLoad<NativeConsumer> {
  return loadAddon<NativeConsumer>(ADDON, LIBRDKAFKA_LAYOUT);
}

export interface LibrdkafkaBatchConsumerOptions {
  brokers: string[];
  groupId: string;
  topic: string;
  clientId?: string;
  fromBeginning?: boolean;
  /** Messages per consume call, across partitions; each partition's share is one handleBatch. */
  maxBatchMessages?: number;
  maxBytesPerPartition?: number;
  sessionTimeoutMs?: number;
  /** Extra librdkafka properties (they win over the ones set here). */
  librdkafka?: Record<string, string | number | boolean>;
}

const MB = 1024 * 1024;
const POLL_TIMEOUT_MS = 100;
/**
 * Consumed batches handled at once (bounds memory: each holds up to maxBatchMessages). A new one
 * is taken only when the oldest is stored in every partition, so with 2 the event loop sat idle
 * while one slow write finished; 4 was ~5 % faster in bench:ingest, 8 no faster than 4.
 */
const MAX_BATCHES_IN_FLIGHT = 4;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/**
 * The ingest hot path's consumer on librdkafka: each consume call returns one packed batch (a
 * Buffer and typed arrays, no JS object per message until here), which is split into one
 * PartitionBatch per partition and handled concurrently; offsets are committed after the handler
 * has stored them. Same contract as PartitionBatchConsumer: the stored offsets are the truth, so
 * every assignment starts from them, and a member that lost a partition can at worst have its
 * write refused by the store's offset check.
 *
 * Assignments are answered by this class, not librdkafka's default: each new partition starts at
 * its stored offset (Kafka's committed offset only when nothing is stored), set in the assign call
 * itself, so nothing is fetched from anywhere else. (A seek right after assignment is not enough:
 * librdkafka 2.0.2 drops it while it is still looking up the committed offset.) Revocations:
 * messages of a revoked partition that came before the revocation in the same consume call are
 * dropped (nothing of them was stored or committed; whoever owns the partition next reads them
 * again).
 *
 * A failing handler restarts the client (close, back-off, rejoin): it starts again from the stored
 * offsets, so nothing is lost and the store skips what it has.
 */
export class LibrdkafkaBatchConsumer implements BatchConsumer {
  private readonly addon: NativeConsumer;
  private running = false;
  private loop?: Promise<void>;
  /** Bumped when a partition is revoked: batches handed out before are stale. */
  private readonly generation = new Map<number, number>();
  private readonly assigned = new Set<number>();
  private firstAssignment?: { resolve: () => void; reject: (err: Error) => void };

  constructor(
    private readonly options: LibrdkafkaBatchConsumerOptions,
    private readonly handler: PartitionBatchHandler,
    private readonly logger: Logger,
  ) {
    const { addon, error } = loadLibrdkafkaConsumer();
    if (!addon) throw new Error(error);
    this.addon = addon;
  }

  /** The partitions this member holds now (sorted). */
  get assignment(): number[] {
    return [...this.assigned].sort((a, b) => a - b);
  }

  get librdkafkaVersion(): string {
    return this.addon.librdkafkaVersion();
  }

  /** Resolves once the group has given this member its first assignment (possibly empty). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const assignedOnce = new Promise<void>((res, rej) => (this.firstAssignment = { resolve: res, reject: rej }));
    this.loop = this.runLoop();
    await assignedOnce;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    this.firstAssignment?.reject(new Error('stopped before the group assigned partitions'));
    await this.loop;
    this.loop = undefined;
  }

  /** Wakes a back-off sleep when stop() is called. */
  private wake?: () => void;

  private config(): string[] {
    const o = this.options;
    const conf: Record<string, string | number | boolean> = {
      'bootstrap.servers': o.brokers.join(','),
      'client.id': o.clientId ?? 'shardcast',
      'group.id': o.groupId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'auto.offset.reset': o.fromBeginning === false ? 'latest' : 'earliest',
      'session.timeout.ms': o.sessionTimeoutMs ?? 30_000,
      'heartbeat.interval.ms': Math.min(3_000, Math.floor((o.sessionTimeoutMs ?? 30_000) / 4)),
      'max.partition.fetch.bytes': o.maxBytesPerPartition ?? 4 * MB,
      'fetch.max.bytes': 32 * MB,
      // Enough pre-fetched to fill the next batch while this one is being stored.
      'queued.max.messages.kbytes': 48 * 1024, // about three consume batches of small records (memory: decision 0022)
      // librdkafka counts this over the consumer queue every partition forwards to: at the default
      // (100k) a consume batch's worth of queued messages stopped every partition's fetching, and
      // some versions then back off for fetch.error.backoff.ms (500 ms). The byte limit above is
      // the one meant to bound the queue.
      'queued.min.messages': 1_000_000,
      ...o.librdkafka,
    };
    return Object.entries(conf).flatMap(([k, v]) => [k, String(v)]);
  }

  private async runLoop(): Promise<void> {
    let backoffMs = BACKOFF_MIN_MS;
    let opened = false;
    while (this.running) {
      let handle: Handle | undefined;
      try {
        handle = this.addon.open(this.config(), this.options.topic);
        opened = true;
        await this.consumeUntilStopped(handle, () => (backoffMs = BACKOFF_MIN_MS));
      } catch (err) {
        if (!opened) {
          // The very first open failed: a configuration error, nothing to retry.
          this.running = false;
          this.firstAssignment?.reject(err as Error);
          break;
        }
        this.logger.error({ err, backoffMs }, 'librdkafka consumer failed; restarting it (it resumes from the stored offsets)');
      } finally {
        if (handle) await this.addon.close(handle).catch((err: unknown) => this.logger.warn({ err }, 'librdkafka close failed'));
        for (const p of this.assigned) this.generation.set(p, (this.generation.get(p) ?? 0) + 1);
        this.assigned.clear();
      }
      if (this.running) {
        await new Promise<void>((r) => {
          const timer = setTimeout(r, backoffMs);
          this.wake = () => {
            clearTimeout(timer);
            r();
          };
        });
        this.wake = undefined;
        backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
      }
    }
    this.firstAssignment?.reject(new Error('consumer stopped before the group assigned partitions'));
  }

  private async consumeUntilStopped(handle: Handle, onProgress: () => void): Promise<void> {
    const max = this.options.maxBatchMessages ?? 50_000;
    let pending: Promise<PackedBatch> | undefined = this.addon.consume(handle, max, POLL_TIMEOUT_MS);
    // Batches being handled: the next one is decoded while the one before waits on its write.
    const inFlight: Array<Promise<void>> = [];
    // Per partition, its runs are handled one after another, in offset order.
    const tails = new Map<number, Promise<void>>();
    let failure: { error: unknown } | undefined;
    try {
      while (this.running && !failure) {
        const batch: PackedBatch = await pending!;
        pending = undefined;
        for (const e of batch.errors) this.logger.warn({ err: e }, 'librdkafka consumer error');
        const dropBefore = await this.applyEvents(handle, batch);
        // The next batch is collected (on the thread pool) while this one is handled.
        if (this.running && !failure) pending = this.addon.consume(handle, max, POLL_TIMEOUT_MS);
        const handled = this.partitionRuns(batch, dropBefore).map((run) => {
          // A pipelined handler gets the run now (it orders a partition's writes itself).
          const handling = this.handler.pipelined && !failure && !run.isStale() ? this.handler.handleBatch(run) : undefined;
          handling?.catch(() => undefined); // awaited in turn below
          const next = (tails.get(run.partition) ?? Promise.resolve()).then(async () => {
            // After a failure nothing more is handled: a later run stored on top of a missing one
            // would leave a gap behind the stored offset (a pipelined handler refuses that itself).
            if (!handling && (failure || run.isStale())) return;
            try {
              await (handling ?? this.handler.handleBatch(run));
            } catch (error) {
              failure ??= { error };
              return;
            }
            onProgress();
            if (run.isStale()) return;
            try {
              this.addon.commit(handle, this.options.topic, [run.partition], [run.packed.offset(run.packed.count - 1) + 1]);
            } catch (err) {
              this.logger.warn({ err, partition: run.partition }, 'kafka offset commit failed (data is stored; it will be skipped on re-read)');
            }
          });
          tails.set(run.partition, next);
          return next;
        });
        inFlight.push(Promise.all(handled).then(() => undefined));
        if (inFlight.length >= MAX_BATCHES_IN_FLIGHT) await inFlight.shift();
      }
    } finally {
      await Promise.all(inFlight);
      if (pending) await pending.catch(() => undefined);
    }
    if (failure) throw failure.error;
  }

  /**
   * Applies rebalance events in order: a revocation drops the partition's messages before it in
   * this batch (returned), an assignment is answered with the stored offsets.
   */
  private async applyEvents(handle: Handle, batch: PackedBatch): Promise<Map<number, number>> {
    const dropBefore = new Map<number, number>();
    for (const e of batch.events) {
      if (e.kind === 'assigned') {
        await this.assignFromStoredOffsets(handle, e.partitions);
        continue;
      }
      for (const p of e.partitions) {
        this.assigned.delete(p);
        this.generation.set(p, (this.generation.get(p) ?? 0) + 1);
        dropBefore.set(p, Math.max(dropBefore.get(p) ?? 0, e.at));
      }
      this.logger.info({ topic: this.options.topic, partitions: [...this.assigned].sort((a, b) => a - b), revoked: e.partitions }, 'partitions assigned');
    }
    return dropBefore;
  }

  /** Answers an assignment: each partition starts at its stored offset, else Kafka's committed one. */
  private async assignFromStoredOffsets(handle: Handle, partitions: number[]): Promise<void> {
    const offsets: number[] = [];
    for (const partition of partitions) {
      const stored = await this.handler.storedOffset(this.options.topic, partition);
      offsets.push(stored === null ? KAFKA_COMMITTED_OFFSET : Number(stored));
    }
    this.addon.assign(handle, this.options.topic, partitions, offsets);
    for (const p of partitions) this.assigned.add(p);
    this.logger.info({ topic: this.options.topic, partitions: [...this.assigned].sort((a, b) => a - b), assigned: partitions, from: offsets }, 'partitions assigned');
    this.firstAssignment?.resolve();
  }

  /** One PartitionBatch per partition, in offset order, skipping what must be dropped; columns, no object per message. */
  private partitionRuns(batch: PackedBatch, dropBefore: Map<number, number>): Array<PartitionBatch & { packed: PackedRun }> {
    const { buffer, meta, offsets } = batch;
    // Messages come in long stretches of one partition (a fetch response's worth): the maps are
    // consulted once per stretch, not per message (two map lookups per message were a tenth of the
    // event loop's time).
    const stretches: Array<{ partition: number; from: number; to: number }> = [];
    for (let i = 0; i < batch.count; ) {
      const partition = meta[META_FIELDS * i];
      let to = i + 1;
      while (to < batch.count && meta[META_FIELDS * to] === partition) to++;
      const from = Math.max(i, dropBefore.get(partition) ?? 0); // earlier ones were fetched before a revocation in this call
      if (from < to) stretches.push({ partition, from, to });
      i = to;
    }
    const counts = new Map<number, number>();
    for (const { partition, from, to } of stretches) counts.set(partition, (counts.get(partition) ?? 0) + to - from);
    const runs = new Map<number, { rows: Int32Array; starts: Int32Array; ends: Int32Array; offsets: Float64Array; n: number }>();
    for (const [partition, n] of counts) runs.set(partition, { rows: new Int32Array(n), starts: new Int32Array(n), ends: new Int32Array(n), offsets: new Float64Array(n), n: 0 });
    for (const { partition, from, to } of stretches) {
      const run = runs.get(partition)!;
      for (let i = from; i < to; i++) {
        const row = META_FIELDS * i;
        const m = run.n++;
        const length = meta[row + 2];
        run.rows[m] = row;
        run.starts[m] = length < 0 ? -1 : meta[row + 1];
        run.ends[m] = length < 0 ? -1 : meta[row + 1] + length;
        run.offsets[m] = offsets[i];
      }
    }
    const topic = this.options.topic;
    return [...runs].map(([partition, run]) => {
      const generation = this.generation.get(partition) ?? 0;
      const message = (m: number): BatchMessage => new PackedMessage(buffer, meta, run.rows[m], run.offsets[m]);
      let messages: BatchMessage[] | undefined;
      return {
        topic,
        partition,
        get messages() {
          return (messages ??= Array.from({ length: run.n }, (_, m) => message(m)));
        },
        packed: { count: run.n, buffer, starts: run.starts, ends: run.ends, offset: (m) => run.offsets[m], message },
        heartbeat: async () => undefined, // librdkafka heartbeats from its own thread
        isStale: () => (this.generation.get(partition) ?? 0) !== generation,
      };
    });
  }
}
