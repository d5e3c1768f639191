import { randomUUID } from 'node:crypto';
import { Consumer, Kafka } from 'kafkajs';
import { ShardAssigned, Topics } from '@shardcast/contracts';
import { LayoutOutcome, ShardDirectory, ShardRoute } from './shard-directory';

export interface ShardClientOptions {
  /** A kafkajs client for the cluster (with the codecs its producers use registered). */
  kafka: Kafka;
  /** Default `shard.assigned.v1`. */
  topic?: string;
  /** Called for a message the directory could not use (not a layout, or its key is not its domain). */
  onInvalid?: (domain: string, reason: string) => void;
  /** Called after each layout applied or removed. */
  onChange?: (domain: string, layout: ShardAssigned | null) => void;
}

/**
 * Follows `shard.assigned.v1` and answers `shardFor(domain, key)` in memory. Each client reads the
 * whole compacted topic from the beginning under a group of its own (nothing committed: every
 * process needs every domain's latest layout, not a share of them). `ready` resolves once the
 * client has caught up with the topic as it was when it started.
 */
export class ShardClient {
  readonly directory = new ShardDirectory();
  private constructor(
    private readonly consumer: Consumer,
    readonly ready: Promise<void>,
  ) {}

  static async start(options: ShardClientOptions): Promise<ShardClient> {
    const topic = options.topic ?? Topics.shardAssigned;
    const admin = options.kafka.admin();
    await admin.connect();
    // Where "caught up" is: the end of each partition now.
    let offsets: Array<{ partition: number; high: string }>;
    try {
      offsets = await fetchOffsetsWhenLed(() => admin.fetchTopicOffsets(topic));
    } finally {
      await admin.disconnect();
    }
    const ends = new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
    const consumer = options.kafka.consumer({ groupId: `shard-client-${randomUUID()}` });
    let markReady!: () => void;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const behind = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
    if (behind.size === 0) markReady();
    const client = new ShardClient(consumer, ready);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const domain = message.key?.toString('utf8') ?? '';
        // A value is an event envelope whose payload the directory validates; null is a tombstone.
        let outcome: LayoutOutcome;
        if (message.value === null) outcome = client.directory.apply(domain, null);
        else {
          let payload: unknown;
          try {
            payload = (JSON.parse(message.value.toString('utf8')) as { payload?: unknown } | null)?.payload;
          } catch {
            payload = undefined; // not JSON
          }
          outcome = payload === undefined || payload === null ? 'invalid' : client.directory.apply(domain, payload);
        }
        if (outcome === 'invalid') options.onInvalid?.(domain, 'not a shard.assigned.v1 layout for its key');
        else if (outcome !== 'stale') options.onChange?.(domain, client.directory.layout(domain));
        if (behind.has(partition) && BigInt(message.offset) + 1n >= ends.get(partition)!) {
          behind.delete(partition);
          if (behind.size === 0) markReady();
        }
      },
    });
    return client;
  }

  shardFor(domain: string, key: string): ShardRoute | null {
    return this.directory.shardFor(domain, key);
  }

  layout(domain: string): ShardAssigned | null {
    return this.directory.layout(domain);
  }

  async close(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/**
 * A topic just created has partitions without a leader for a moment: listing their offsets then
 * fails with a retriable error. Retried with back-off for up to ~15 s; anything else is thrown.
 */
async function fetchOffsetsWhenLed<T>(fetch: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch();
    } catch (err) {
      const retriable = (err as { retriable?: boolean }).retriable === true;
      if (!retriable || attempt >= 30) throw err;
      await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** attempt)));
    }
  }
}
