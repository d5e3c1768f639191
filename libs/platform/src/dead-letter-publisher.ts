import { Producer } from 'kafkajs';
import { DeadLetterHeaders, deadLetterTopic, ErrorCode } from '@shardcast/contracts';

export interface DeadLetter {
  sourceTopic: string;
  partition: number;
  offset: string;
  key: Buffer | string | null;
  /** The original bytes, unchanged (or the rejected record alone, for a batch member). */
  value: Buffer | null;
  code: ErrorCode;
  reason: string;
  recordIndex?: number | null;
}

/**
 * Sends rejected messages to `<topic>.dlq` with their original bytes and the reason in headers.
 * Awaited before the consumer's progress is stored, so a rejected message is never lost.
 */
export class DeadLetterPublisher {
  constructor(private readonly producer: Producer) {}

  async close(): Promise<void> {
    await this.producer.disconnect();
  }

  async publish(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const byTopic = new Map<string, DeadLetter[]>();
    for (const letter of letters) {
      const topic = deadLetterTopic(letter.sourceTopic);
      const list = byTopic.get(topic) ?? [];
      list.push(letter);
      byTopic.set(topic, list);
    }
    const failedAt = new Date().toISOString();
    await this.producer.sendBatch({
      topicMessages: [...byTopic].map(([topic, list]) => ({
        topic,
        messages: list.map((l) => ({
          key: l.key,
          value: l.value,
          headers: {
            [DeadLetterHeaders.errorCode]: l.code,
            [DeadLetterHeaders.errorReason]: l.reason.slice(0, 1000),
            [DeadLetterHeaders.sourceTopic]: l.sourceTopic,
            [DeadLetterHeaders.sourcePartition]: String(l.partition),
            [DeadLetterHeaders.sourceOffset]: l.offset,
            [DeadLetterHeaders.failedAt]: failedAt,
            ...(l.recordIndex !== undefined && l.recordIndex !== null ? { [DeadLetterHeaders.recordIndex]: String(l.recordIndex) } : {}),
          },
        })),
      })),
    });
  }
}
