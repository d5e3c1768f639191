import { Handle, loadLibrdkafkaConsumer, NativeConsumer } from './librdkafka-batch-consumer';

/** What the outbox relay needs of a producer: kafkajs' Producer has it, and so does LibrdkafkaProducer. */
export interface EventBatchProducer {
  sendBatch(batch: { acks?: number; topicMessages: Array<{ topic: string; messages: Array<{ key: string; value: string }> }> }): Promise<unknown>;
}

export interface LibrdkafkaProducerOptions {
  brokers: string[];
  clientId?: string;
  /** Extra librdkafka properties (they win over the ones set here). */
  librdkafka?: Record<string, string | number | boolean>;
}

/**
 * A producer on librdkafka (the native addon's producer): a page of messages is handed over in one
 * call and settles when every message is acknowledged by all in-sync replicas. Idempotent, and keyed
 * messages go to the partition Java's and kafkajs' default partitioner picks (murmur2), so a key's
 * events share a partition whichever client wrote them.
 */
export class LibrdkafkaProducer implements EventBatchProducer {
  private readonly handle: Handle;

  constructor(
    options: LibrdkafkaProducerOptions,
    private readonly addon: NativeConsumer = requireAddon(),
  ) {
    const config: Record<string, string | number | boolean> = {
      'bootstrap.servers': options.brokers.join(','),
      'client.id': options.clientId ?? 'shardcast',
      'enable.idempotence': true,
      partitioner: 'murmur2_random',
      'linger.ms': 5,
      // A page waits for its last report at most this long (then fails and is retried).
      'message.timeout.ms': 30_000,
      ...options.librdkafka,
    };
    this.handle = addon.producerOpen(Object.entries(config).flatMap(([k, v]) => [k, String(v)]));
  }

  /** Sends each topic's messages in order; resolves when all are acknowledged, rejects on the first failure. */
  async sendBatch(batch: { topicMessages: Array<{ topic: string; messages: Array<{ key: string; value: string }> }> }): Promise<void> {
    await Promise.all(
      batch.topicMessages.map(({ topic, messages }) =>
        this.addon.producerSend(
          this.handle,
          topic,
          messages.map((m) => m.key),
          messages.map((m) => m.value),
        ),
      ),
    );
  }

  /** Flushes and closes; sends in progress must have settled. */
  async disconnect(): Promise<void> {
    await this.addon.producerClose(this.handle);
  }
}

function requireAddon(): NativeConsumer {
  const { addon, error } = loadLibrdkafkaConsumer();
  if (!addon) throw new Error(error);
  return addon;
}
