import { Producer } from 'kafkajs';
import { DeadLetterHeaders, deadLetterTopic, ErrorCode } from '@shardcast/contracts';

export interface DeadLetter {
  sourceTopic: string;
  partition: number;
  offset: string;
  key: Buffer | string | null;
  /** The original bytes, unchanged (or the rejected record alone, for a batch member). */
  value: Buffer | null;
  /** Code of the (first) rejection. */
  code: ErrorCode;
  reason: string;
  /** Indices of the rejected records inside a batch message; absent when the whole message failed. */
  recordIndices?: number[];
}

/** Stay under the broker's default 1 MB batch limit: kafkajs does not split a batch by size. */
const MAX_SEND_BYTES = 768 * 1024;

/**
 * Sends rejected messages to `<topic>.dlq` with their original bytes and the reason in headers.
 * Awaited before the consumer's progress is stored, so a rejected message is never lost.
 */
function toMessage(l: DeadLetter, failedAt: string) {
  return {
    key: l.key,
    value: l.value,
    headers: {
      [DeadLetterHeaders.errorCode]: l.code,
      [DeadLetterHeaders.errorReason]: l.reason.slice(0, 1000),
      [DeadLetterHeaders.sourceTopic]: l.sourceTopic,
      [DeadLetterHeaders.sourcePartition]: String(l.partition),
      [DeadLetterHeaders.sourceOffset]: l.offset,
      [DeadLetterHeaders.failedAt]: failedAt,
      ...(l.recordIndices?.length ? { [DeadLetterHeaders.recordIndex]: l.recordIndices.slice(0, 1000).join(',') } : {}),
    },
  };
}

export class DeadLetterPublisher {
  constructor(private readonly producer: Producer) {}

  async close(): Promise<void> {
    await this.producer.disconnect();
  }

  async publish(letters: DeadLetter[]): Promise<void> {
    const failedAt = new Date().toISOString();
    let chunk: Array<{ topic: string; message: ReturnType<typeof toMessage> }> = [];
    let bytes = 0;
    const flush = async () => {
      if (chunk.length === 0) return;
      const byTopic = new Map<string, Array<ReturnType<typeof toMessage>>>();
      for (const { topic, message } of chunk) byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
      await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      chunk = [];
      bytes = 0;
    };
    for (const letter of letters) {
      const size = (letter.value?.length ?? 0) + letter.reason.length + 256;
      if (bytes + size > MAX_SEND_BYTES) await flush();
      chunk.push({ topic: deadLetterTopic(letter.sourceTopic), message: toMessage(letter, failedAt) });
      bytes += size;
    }
    await flush();
  }
}
