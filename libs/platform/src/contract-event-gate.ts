import { Inject, Injectable } from '@nestjs/common';
import type { KafkaContext } from '@nestjs/microservices';
import { metrics } from '@opentelemetry/api';
import type { z } from 'zod';
import { ErrorCode, ErrorCodes } from '@shardcast/contracts';
import { DeadLetterPublisher } from './dead-letter-publisher';
import { ConsumerFailures, SERVICE_LOGGER } from './consumer-failures';
import type { Logger } from './logger';
import type { MessagePosition } from './message-retries';

export { SERVICE_LOGGER };
export const DEAD_LETTER_PUBLISHER = Symbol('DEAD_LETTER_PUBLISHER');

const meter = metrics.getMeter('shardcast');
const consumed = meter.createCounter('shardcast.events.consumed', { description: 'Events read from Kafka, by topic and outcome' });

export interface ConsumeOptions {
  /**
   * A compacted topic's tombstone (null value) deletes its key's state: valid input, never a
   * dead letter. Without this, a null value is invalid.
   */
  onTombstone?: (key: string | null) => Promise<void>;
}

/**
 * The one place where a Nest Kafka handler's message is parsed, checked against its contract and
 * processed under the failure policy (`ConsumerFailures`, `MessageRetries`). The transport runs with `keepBinary`, so
 * the original bytes are here. Invalid → dead letter at once; processing fails every time →
 * bounded retries, then a dead letter (`EVENT_UNPROCESSABLE`); broker or database unreachable →
 * retried without moving on, readiness false meanwhile. A handler never throws for a bad message
 * (a throwing handler is retried forever, nestjs/nest#14664).
 */
@Injectable()
export class ContractEventGate {
  constructor(
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(DEAD_LETTER_PUBLISHER) private readonly deadLetters: DeadLetterPublisher,
    private readonly failures: ConsumerFailures,
  ) {}

  /** Validates the message; if valid, runs `process` on it under the failure policy. */
  async consume<S extends z.ZodType>(schema: S, context: KafkaContext, process: (event: z.infer<S>) => Promise<void>, options: ConsumeOptions = {}): Promise<void> {
    const message = context.getMessage();
    const position: MessagePosition = { topic: context.getTopic(), partition: context.getPartition(), offset: message.offset };
    const raw = message.value === null || message.value === undefined ? null : Buffer.isBuffer(message.value) ? message.value : Buffer.from(String(message.value));
    if (raw === null && options.onTombstone) {
      const key = message.key === null || message.key === undefined ? null : String(message.key);
      consumed.add(1, { topic: position.topic, outcome: 'tombstone' });
      return this.processUnderPolicy(position, context, raw, () => options.onTombstone!(key));
    }
    const event = await this.read(schema, context);
    if (event === null) return;
    await this.processUnderPolicy(position, context, raw, () => process(event));
  }

  /** Parses and validates; an invalid message is dead-lettered and `null` returned. */
  async read<S extends z.ZodType>(schema: S, context: KafkaContext): Promise<z.infer<S> | null> {
    const message = context.getMessage();
    const topic = context.getTopic();
    const raw = message.value === null || message.value === undefined ? null : Buffer.isBuffer(message.value) ? message.value : Buffer.from(String(message.value));
    let reason: string;
    if (raw === null) {
      reason = 'empty value (a tombstone) on a topic where it deletes nothing';
    } else {
      try {
        const parsed = schema.safeParse(JSON.parse(raw.toString('utf8')));
        if (parsed.success) {
          consumed.add(1, { topic, outcome: 'accepted' });
          return parsed.data;
        }
        reason = parsed.error.issues
          .slice(0, 5)
          .map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`)
          .join('; ');
      } catch (err) {
        reason = `not JSON: ${(err as Error).message}`;
      }
    }
    consumed.add(1, { topic, outcome: 'invalid' });
    await this.deadLetter(context, raw, ErrorCodes.EVENT_INVALID, reason);
    return null;
  }

  private async processUnderPolicy(position: MessagePosition, context: KafkaContext, raw: Buffer | null, process: () => Promise<void>): Promise<void> {
    const result = await this.failures.run(position, process);
    if (result.outcome === 'done') return;
    consumed.add(1, { topic: position.topic, outcome: 'unprocessable' });
    await this.deadLetter(context, raw, ErrorCodes.EVENT_UNPROCESSABLE, `failed ${result.attempts} times: ${result.failure.reason}`);
  }

  private async deadLetter(context: KafkaContext, raw: Buffer | null, code: ErrorCode, reason: string): Promise<void> {
    const message = context.getMessage();
    const topic = context.getTopic();
    const key = message.key === null || message.key === undefined ? null : Buffer.isBuffer(message.key) ? message.key : String(message.key);
    this.logger.warn({ topic, partition: context.getPartition(), offset: message.offset, key: key === null ? null : String(key), code, reason }, 'event rejected');
    await this.deadLetters.publish([{ sourceTopic: topic, partition: context.getPartition(), offset: message.offset, key, value: raw, code, reason }]);
  }
}
