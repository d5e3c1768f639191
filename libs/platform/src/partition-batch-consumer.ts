import { Consumer, Kafka } from 'kafkajs';
import type { Logger } from './logger';

/** One message of a batch, from either client (kafkajs's KafkaMessage fits it). */
export interface BatchMessage {
  /** kafkajs gives decimal strings, the librdkafka consumer numbers (exact below 2^53). */
  offset: string | number;
  key?: Buffer | null;
  value: Buffer | null;
  /** A non-null value as `valueBuffer[valueStart, valueEnd)` of a packed batch (librdkafka). */
  valueBuffer?: Buffer;
  valueStart?: number;
  valueEnd?: number;
}

/**
 * librdkafka: a run's messages as columns of their packed buffer, with no object per message
 * (they lived long enough to be copied by every young-generation GC while their batch was stored).
 */
export interface PackedRun {
  count: number;
  buffer: Buffer;
  /** Message m's value is buffer[starts[m], ends[m]); null when starts[m] is -1. */
  starts: Int32Array;
  ends: Int32Array;
  offset(m: number): number;
  /** Message m as an object (what messages[m] is), made when asked. */
  message(m: number): BatchMessage;
}

export interface PartitionBatch {
  topic: string;
  partition: number;
  /** With `packed`, built on first read: a hot path reads the columns instead. */
  readonly messages: BatchMessage[];
  packed?: PackedRun;
  /** Lets a long batch keep the group membership alive. */
  heartbeat(): Promise<void>;
  isStale(): boolean;
}

export interface PartitionBatchHandler {
  /**
   * Processes a batch and stores its effect together with the partition's next offset.
   * Resolves when that is durable; the Kafka commit afterwards is only an optimisation.
   */
  handleBatch(batch: PartitionBatch): Promise<void>;
  /** The stored next offset of a partition (source of truth), or null to use Kafka's. */
  storedOffset(topic: string, partition: number): Promise<bigint | null>;
  /**
   * True when handleBatch may be called with a partition's next batch before the previous call
   * has settled: the handler keeps each partition's writes in order itself and fails a batch
   * whose predecessor failed. A consumer then hands batches over as they arrive, so the handler
   * can prepare one while the previous one is being written. Otherwise calls are sequential.
   */
  readonly pipelined?: boolean;
}

export interface PartitionBatchConsumerOptions {
  groupId: string;
  topic: string;
  fromBeginning?: boolean;
  maxBytesPerPartition?: number;
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
}

/** A consumer that feeds a PartitionBatchHandler: kafkajs or librdkafka underneath. */
export interface BatchConsumer {
  /** Resolves once the member has joined its group. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A kafkajs `eachBatch` consumer for hot paths. The NestJS Kafka transport forces `eachMessage`
 * (nestjs/nest#9455), which is per-message work we cannot afford here (docs/decisions/0001-hot-path-kafka-client.md).
 * On every assignment it seeks each partition to the offset stored with the data, so a replay
 * never depends on Kafka's committed offsets (kafkajs has no revocation callback, #916).
 */
export class PartitionBatchConsumer implements BatchConsumer {
  private consumer?: Consumer;
  private running = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: PartitionBatchConsumerOptions,
    private readonly handler: PartitionBatchHandler,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      maxBytesPerPartition: this.options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((this.options.sessionTimeoutMs ?? 30_000) / 4)),
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const partitions = payload.memberAssignment[this.options.topic] ?? [];
      this.logger.info({ topic: this.options.topic, partitions }, 'partitions assigned');
      void this.seekToStoredOffsets(partitions);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.options.topic, fromBeginning: this.options.fromBeginning ?? true });
    this.running = true;
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, isStale, resolveOffset, commitOffsetsIfNecessary, isRunning }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        await this.handler.handleBatch({ topic: batch.topic, partition: batch.partition, messages: batch.messages, heartbeat, isStale });
        const last = batch.messages[batch.messages.length - 1].offset;
        resolveOffset(last);
        try {
          await commitOffsetsIfNecessary({
            topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }],
          });
        } catch (err) {
          // The batch is already stored with its offset; Kafka's commit only saves re-reading it.
          this.logger.warn({ err, partition: batch.partition }, 'kafka offset commit failed (data is stored; it will be skipped on re-read)');
        }
      },
    });
  }

  private async seekToStoredOffsets(partitions: number[]): Promise<void> {
    for (const partition of partitions) {
      try {
        const stored = await this.handler.storedOffset(this.options.topic, partition);
        if (stored !== null && this.running) this.consumer?.seek({ topic: this.options.topic, partition, offset: stored.toString() });
      } catch (err) {
        // Not fatal: the handler still skips records below its stored offset.
        this.logger.warn({ err, partition }, 'could not seek to the stored offset');
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }
}
