import type { EventBatchProducer } from '@shardcast/platform';
import { Handle, loadLibrdkafkaConsumer, NativeConsumer } from './librdkafka-batch-consumer';

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
 * events share a partition whichever client wrote them. Delivery reports are served by a thread of
 * the producer's own, never by libuv's pool (docs/decisions/0017).
 */
export class LibrdkafkaProducer implements EventBatchProducer {
  private handle: Handle;
  private readonly config: string[];

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
      // A send settles on every message's delivery report: both must stay as they are.
      'delivery.report.only.error': false,
    };
    if (!(Number(config['message.timeout.ms']) > 0)) throw new Error('message.timeout.ms must be > 0: a send waits for every delivery report');
    this.config = Object.entries(config).flatMap(([k, v]) => [k, String(v)]);
    this.handle = addon.producerOpen(this.config);
  }

  /**
   * Sends each topic's messages in order; resolves when all are acknowledged, rejects with the
   * first failure once every send has settled. After a fatal client error (e.g. idempotence
   * broken), the next call runs on a new client.
   */
  async sendBatch(batch: { topicMessages: Array<{ topic: string; messages: Array<{ key: string; value: string }> }> }): Promise<void> {
    const handle = this.handle;
    let results: PromiseSettledResult<void>[];
    try {
      results = await Promise.allSettled(
        batch.topicMessages.map(({ topic, messages }) =>
          this.addon.producerSend(
            handle,
            topic,
            messages.map((m) => m.key),
            messages.map((m) => m.value),
          ),
        ),
      );
    } finally {
      if (handle === this.handle && this.addon.producerFatalError(handle) !== null) this.reopen(handle);
    }
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Closes: waits up to 30 s for the sends in progress, fails those still waiting then, and rejects if any did not make it. */
  async disconnect(): Promise<void> {
    await this.addon.producerClose(this.handle);
  }

  private reopen(broken: Handle): void {
    this.handle = this.addon.producerOpen(this.config);
    this.addon.producerClose(broken).catch(() => undefined); // it can deliver nothing more
  }
}

function requireAddon(): NativeConsumer {
  const { addon, error } = loadLibrdkafkaConsumer();
  if (!addon) throw new Error(error);
  return addon;
}
