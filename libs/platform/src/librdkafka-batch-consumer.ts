import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from './logger';
import type { BatchConsumer, BatchMessage, PartitionBatchHandler } from './partition-batch-consumer';

/** What libs/platform/native/librdkafka-batch-consumer.c returns from one consume call. */
interface PackedBatch {
  count: number;
  buffer: Buffer;
  /** [partition, valueStart, valueLength, keyStart, keyLength] per message; length -1 = null. */
  meta: Int32Array;
  offsets: Float64Array;
  /** `at`: how many messages of this batch came before the event. */
  events: Array<{ kind: 'assigned' | 'revoked'; partitions: number[]; at: number }>;
  errors: string[];
}

type Handle = object & { readonly __brand?: 'librdkafka-handle' };

interface NativeConsumer {
  open(config: string[], topic: string): Handle;
  consume(handle: Handle, maxMessages: number, timeoutMs: number): Promise<PackedBatch>;
  commit(handle: Handle, topic: string, partitions: number[], nextOffsets: number[]): void;
  seek(handle: Handle, topic: string, partitions: number[], offsets: number[]): void;
  close(handle: Handle): Promise<void>;
  librdkafkaVersion(): string;
}

const ADDON = 'librdkafka_batch_consumer.node';

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

/** From src/ (tests) and from dist/src/ (the built services). */
function addonPath(): string | undefined {
  return [resolve(__dirname, '..', 'native', 'build', ADDON), resolve(__dirname, '..', '..', 'native', 'build', ADDON)].find((p) => existsSync(p));
}

let loaded: NativeConsumer | undefined;
let loadError: string | undefined;

/** The native addon, or why it cannot be used (not built: see libs/platform/native/build.sh). */
export function loadLibrdkafkaConsumer(): { addon?: NativeConsumer; error?: string } {
  if (loaded || loadError) return { addon: loaded, error: loadError };
  const path = addonPath();
  if (!path) {
    loadError = `${ADDON} is not built (npm run build builds it; it needs gcc and librdkafka-dev, see libs/platform/native/build.sh)`;
  } else {
    try {
      loaded = require(path) as NativeConsumer;
    } catch (err) {
      loadError = `${path} does not load: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  return { addon: loaded, error: loadError };
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
/** Consumed batches handled at once (bounds memory: each holds up to maxBatchMessages). */
const MAX_BATCHES_IN_FLIGHT = 2;

/**
 * The ingest hot path's consumer on librdkafka: each consume call returns one packed batch (a
 * Buffer and typed arrays, no JS object per message until here), which is split into one
 * PartitionBatch per partition and handled concurrently; offsets are committed after the handler
 * has stored them. Same contract as PartitionBatchConsumer: the stored offsets are the truth, so
 * every assignment seeks to them, and a member that lost a partition can at worst have its write
 * refused by the store's offset check.
 *
 * Revocations: messages of a revoked partition that came before the revocation in the same
 * consume call are dropped (nothing of them was stored or committed; whoever owns the partition
 * next reads them again). A newly assigned partition's messages are dropped until it has been
 * sought to its stored offset (librdkafka purges what it pre-fetched on a seek).
 *
 * A failing handler restarts the client (close, back-off, rejoin): it resumes from the committed
 * offsets, which never pass the stored ones, so nothing is lost and the store skips what it has.
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
    await this.loop;
    this.loop = undefined;
  }

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
      'queued.max.messages.kbytes': 128 * 1024,
      ...o.librdkafka,
    };
    return Object.entries(conf).flatMap(([k, v]) => [k, String(v)]);
  }

  private async runLoop(): Promise<void> {
    let backoffMs = 500;
    while (this.running) {
      let handle: Handle | undefined;
      try {
        handle = this.addon.open(this.config(), this.options.topic);
        await this.consumeUntilStopped(handle);
        backoffMs = 500;
      } catch (err) {
        this.logger.error({ err, backoffMs }, 'librdkafka consumer failed; restarting it (it resumes from the stored offsets)');
        if (!handle) {
          // Bad configuration: nothing to retry.
          this.running = false;
          this.firstAssignment?.reject(err as Error);
          return;
        }
      } finally {
        if (handle) await this.addon.close(handle).catch((err: unknown) => this.logger.warn({ err }, 'librdkafka close failed'));
        for (const p of this.assigned) this.generation.set(p, (this.generation.get(p) ?? 0) + 1);
        this.assigned.clear();
      }
      if (this.running) {
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    }
  }

  private async consumeUntilStopped(handle: Handle): Promise<void> {
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
        const { dropBefore, fresh } = this.applyEvents(batch);
        const sought = fresh.length ? await this.seekToStoredOffsets(handle, fresh) : new Set<number>();
        // The next batch is collected (on the thread pool) while this one is handled.
        if (this.running) pending = this.addon.consume(handle, max, POLL_TIMEOUT_MS);
        const handled = this.partitionRuns(batch, dropBefore, sought).map((run) => {
          const next = (tails.get(run.partition) ?? Promise.resolve()).then(async () => {
            // After a failure nothing more is handled: a later run stored on top of a missing one
            // would leave a gap behind the stored offset.
            if (failure || run.isStale()) return;
            try {
              await this.handler.handleBatch(run);
            } catch (error) {
              failure ??= { error };
              return;
            }
            if (run.isStale()) return;
            try {
              this.addon.commit(handle, this.options.topic, [run.partition], [Number(run.messages[run.messages.length - 1].offset) + 1]);
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

  /** Applies rebalance events; says which messages to drop and which partitions need a seek. */
  private applyEvents(batch: PackedBatch): { dropBefore: Map<number, number>; fresh: number[] } {
    const dropBefore = new Map<number, number>();
    const fresh = new Set<number>();
    for (const e of batch.events) {
      for (const p of e.partitions) {
        if (e.kind === 'revoked') {
          this.assigned.delete(p);
          fresh.delete(p);
          this.generation.set(p, (this.generation.get(p) ?? 0) + 1);
          dropBefore.set(p, Math.max(dropBefore.get(p) ?? 0, e.at));
        } else {
          this.assigned.add(p);
          fresh.add(p);
        }
      }
      this.logger.info({ topic: this.options.topic, partitions: [...this.assigned].sort((a, b) => a - b), [e.kind]: e.partitions }, 'partitions assigned');
      if (e.kind === 'assigned') this.firstAssignment?.resolve();
    }
    return { dropBefore, fresh: [...fresh] };
  }

  /**
   * Seeks newly assigned partitions to their stored offsets (those without one start where Kafka
   * says: committed offset, else auto.offset.reset). Returns the partitions sought: their
   * messages in the batch at hand were fetched from the old position and are dropped.
   */
  private async seekToStoredOffsets(handle: Handle, partitions: number[]): Promise<Set<number>> {
    const targets: Array<[number, number]> = [];
    for (const partition of partitions) {
      const stored = await this.handler.storedOffset(this.options.topic, partition);
      if (stored !== null) targets.push([partition, Number(stored)]);
    }
    if (targets.length) {
      this.addon.seek(
        handle,
        this.options.topic,
        targets.map(([p]) => p),
        targets.map(([, o]) => o),
      );
    }
    return new Set(targets.map(([p]) => p));
  }

  /** One PartitionBatch per partition, in offset order, skipping what must be dropped. */
  private partitionRuns(batch: PackedBatch, dropBefore: Map<number, number>, sought: Set<number>) {
    const { buffer, meta, offsets } = batch;
    const byPartition = new Map<number, BatchMessage[]>();
    for (let i = 0; i < batch.count; i++) {
      const row = 5 * i;
      const partition = meta[row];
      // Fetched before a revocation, or before this member's seek to the stored offset.
      if (sought.has(partition) || i < (dropBefore.get(partition) ?? 0)) continue;
      let list = byPartition.get(partition);
      if (!list) byPartition.set(partition, (list = []));
      list.push(new PackedMessage(buffer, meta, row, offsets[i]));
    }
    const topic = this.options.topic;
    return [...byPartition].map(([partition, messages]) => {
      const generation = this.generation.get(partition) ?? 0;
      return {
        topic,
        partition,
        messages,
        heartbeat: async () => undefined, // librdkafka heartbeats from its own thread
        isStale: () => !this.running || (this.generation.get(partition) ?? 0) !== generation,
      };
    });
  }
}
