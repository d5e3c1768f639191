import { DeadLetterHeaders } from '@shardcast/contracts';
import { kcat } from './kcat';

/** A message of a dead-letter topic, with the headers the platform's DeadLetterPublisher sets. */
export interface ReadDeadLetter {
  id: string;
  group: string;
  code: string;
  partition: number;
  offset: string;
  /** Which record of a batch message; null when the whole message failed. */
  recordIndex: number | null;
  value: string;
}

/**
 * Every message of a dead-letter topic (kcat -J), in each partition's order. At-least-once: a
 * dead letter redelivered after a crash is there twice with the same `x-dead-letter-id`.
 */
export async function readDeadLetters(brokers: string, dlqTopic: string): Promise<ReadDeadLetter[]> {
  const out = await kcat(['-b', brokers, '-t', dlqTopic, '-C', '-e', '-q', '-o', 'beginning', '-J']);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = JSON.parse(line) as { headers?: string[]; payload: string | null };
      const headers = new Map<string, string>();
      for (let i = 0; i + 1 < (m.headers ?? []).length; i += 2) headers.set(m.headers![i], m.headers![i + 1]);
      const index = headers.get(DeadLetterHeaders.recordIndex);
      return {
        id: headers.get(DeadLetterHeaders.deadLetterId) ?? '',
        group: headers.get(DeadLetterHeaders.consumerGroup) ?? '',
        code: headers.get(DeadLetterHeaders.errorCode) ?? '',
        partition: Number(headers.get(DeadLetterHeaders.sourcePartition)),
        offset: headers.get(DeadLetterHeaders.sourceOffset) ?? '',
        recordIndex: index === undefined ? null : Number(index),
        value: m.payload ?? '',
      };
    });
}
