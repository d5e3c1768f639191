import { metrics } from '@opentelemetry/api';
import { CompressionTypes, Producer } from 'kafkajs';
import { DeadLetterHeaders, deadLetterTopic, deterministicEventId, ErrorCode } from '@shardcast/contracts';
import type { Logger } from './logger';
import type { Quarantine } from './quarantine-table';

export interface DeadLetter {
  sourceTopic: string;
  partition: number;
  offset: string;
  key: Buffer | string | null;
  /** The original bytes, unchanged (or the rejected record alone, for a member of a batch). */
  value: Buffer | null;
  code: ErrorCode;
  reason: string;
  /** Which record of a batch message this is; absent when the whole message failed. */
  recordIndex?: number;
}

/** Stay under the broker's default 1 MB request limit: kafkajs does not split a batch by size. */
const MAX_SEND_BYTES = 768 * 1024;

const meter = metrics.getMeter('shardcast');
const deadLettered = meter.createCounter('shardcast.dead_letters', { description: 'Messages sent to a dead-letter topic, by source topic and code' });
const quarantined = meter.createCounter('shardcast.dead_letters.quarantined', { description: 'Dead letters a dead-letter topic refused, stored in the quarantine table' });
const quarantineDropped = meter.createCounter('shardcast.quarantine.dropped', { description: 'Oldest quarantined rows dropped to keep the quarantine bounded' });

/**
 * A dead letter's identity: one per (consumer group, source topic, partition, offset, record index).
 * Redelivered after a crash, a message is dead-lettered again with the same id: consumers of a
 * dead-letter topic deduplicate on `x-dead-letter-id`.
 */
export function deadLetterId(consumerGroup: string, letter: Pick<DeadLetter, 'sourceTopic' | 'partition' | 'offset' | 'recordIndex'>): string {
  return deterministicEventId('dead-letter', consumerGroup, letter.sourceTopic, letter.partition, letter.offset, letter.recordIndex ?? -1);
}

/**
 * A reason quotes the input it rejects (a JSON parser's message holds a snippet of the bytes):
 * control characters are escaped, so a header reads as one line in kcat and in logs.
 */
export function printableReason(reason: string): string {
  return reason.slice(0, 1000).replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function toMessage(l: DeadLetter, consumerGroup: string, failedAt: string) {
  return {
    key: l.key,
    value: l.value,
    headers: {
      [DeadLetterHeaders.deadLetterId]: deadLetterId(consumerGroup, l),
      [DeadLetterHeaders.consumerGroup]: consumerGroup,
      [DeadLetterHeaders.errorCode]: l.code,
      [DeadLetterHeaders.errorReason]: printableReason(l.reason),
      [DeadLetterHeaders.sourceTopic]: l.sourceTopic,
      [DeadLetterHeaders.sourcePartition]: String(l.partition),
      [DeadLetterHeaders.sourceOffset]: l.offset,
      [DeadLetterHeaders.failedAt]: failedAt,
      ...(l.recordIndex !== undefined ? { [DeadLetterHeaders.recordIndex]: String(l.recordIndex) } : {}),
    },
  };
}

/**
 * Sends rejected messages to `<topic>.dlq`, compressed, with the reason in headers. A letter the
 * broker refuses (too large, topic missing, not authorised) goes to the quarantine table instead,
 * so one bad message never stops a partition; only an unreachable broker *and* database throw.
 * Awaited before the consumer's progress is stored, so a rejected message is never lost.
 */
export class DeadLetterPublisher {
  private quarantine?: Quarantine;

  constructor(
    private readonly producer: Producer,
    private readonly consumerGroup: string,
    private readonly logger?: Pick<Logger, 'warn' | 'error'>,
  ) {}

  /** The service's quarantine table, once its database is open. */
  useQuarantine(quarantine: Quarantine): void {
    this.quarantine = quarantine;
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }

  async publish(letters: DeadLetter[]): Promise<void> {
    const failedAt = new Date().toISOString();
    let chunk: DeadLetter[] = [];
    let bytes = 0;
    for (const letter of letters) {
      const size = (letter.value?.length ?? 0) + letter.reason.length + 512;
      if (chunk.length > 0 && bytes + size > MAX_SEND_BYTES) {
        await this.send(chunk, failedAt);
        chunk = [];
        bytes = 0;
      }
      chunk.push(letter);
      bytes += size;
    }
    if (chunk.length > 0) await this.send(chunk, failedAt);
  }

  private async send(letters: DeadLetter[], failedAt: string): Promise<void> {
    try {
      await this.sendBatch(letters, failedAt);
      return;
    } catch (err) {
      if (letters.length === 1) return this.toQuarantine(letters, err);
    }
    // One letter refused fails its whole request: find which, send the others.
    for (const letter of letters) {
      try {
        await this.sendBatch([letter], failedAt);
      } catch (err) {
        await this.toQuarantine([letter], err);
      }
    }
  }

  private async sendBatch(letters: DeadLetter[], failedAt: string): Promise<void> {
    const byTopic = new Map<string, DeadLetter[]>();
    for (const l of letters) byTopic.set(deadLetterTopic(l.sourceTopic), [...(byTopic.get(deadLetterTopic(l.sourceTopic)) ?? []), l]);
    await this.producer.sendBatch({
      acks: -1,
      // A rejected batch can be a megabyte of JSON: compressed, it fits where its source did.
      compression: CompressionTypes.GZIP,
      topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list.map((l) => toMessage(l, this.consumerGroup, failedAt)) })),
    });
    for (const l of letters) deadLettered.add(1, { topic: l.sourceTopic, code: l.code });
  }

  private async toQuarantine(letters: DeadLetter[], err: unknown): Promise<void> {
    const why = `dead-letter topic refused it: ${err instanceof Error ? err.message : String(err)}`;
    if (!this.quarantine) throw err;
    const dropped = await this.quarantine.add(
      letters.map((l) => ({ ...l, deadLetterId: deadLetterId(this.consumerGroup, l), consumerGroup: this.consumerGroup })),
      why,
    );
    quarantined.add(letters.length, { topic: letters[0].sourceTopic });
    this.logger?.warn({ topic: letters[0].sourceTopic, partition: letters[0].partition, offset: letters[0].offset, letters: letters.length, reason: why }, 'dead letter quarantined');
    if (dropped > 0) {
      quarantineDropped.add(dropped);
      this.logger?.error({ dropped }, 'quarantine full: its oldest rows were dropped');
    }
  }
}
