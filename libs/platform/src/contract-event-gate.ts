import { Inject, Injectable } from '@nestjs/common';
import type { KafkaContext } from '@nestjs/microservices';
import { metrics } from '@opentelemetry/api';
import type { z } from 'zod';
import { ErrorCode, ErrorCodes } from '@shardcast/contracts';
import { DeadLetterPublisher } from './dead-letter-publisher';
import type { ClassifiedFailure } from './failure-classification';
import type { Logger } from './logger';
import { MessagePosition, MessageRetries, RetryObserver } from './message-retries';
import { ReadinessRegistry } from './readiness';

export const SERVICE_LOGGER = Symbol('SERVICE_LOGGER');
export const DEAD_LETTER_PUBLISHER = Symbol('DEAD_LETTER_PUBLISHER');

const meter = metrics.getMeter('shardcast');
const consumed = meter.createCounter('shardcast.events.consumed', { description: 'Events read from Kafka, by topic and outcome' });
const failures = meter.createCounter('shardcast.consumer.failures', { description: 'Failed attempts at processing a message, by topic and kind (transient, unprocessable)' });
const stuckGauge = meter.createObservableGauge('shardcast.consumer.stuck_partitions', { description: 'Partitions whose current message has failed at least the stuck threshold of attempts' });

export interface ConsumeOptions {
  /**
   * A compacted topic's tombstone (null value) deletes its key's state: valid input, never a
   * dead letter. Without this, a null value is invalid.
   */
  onTombstone?: (key: string | null) => Promise<void>;
}

/**
 * The one place where a Nest Kafka handler's message is parsed, checked against its contract and
 * processed under the failure policy (`MessageRetries`). The transport runs with `keepBinary`, so
 * the original bytes are here. Invalid → dead letter at once; processing fails every time →
 * bounded retries, then a dead letter (`EVENT_UNPROCESSABLE`); broker or database unreachable →
 * retried without moving on, readiness false meanwhile. A handler never throws for a bad message
 * (a throwing handler is retried forever, nestjs/nest#14664).
 */
@Injectable()
export class ContractEventGate implements RetryObserver {
  private readonly retries = new MessageRetries(this);

  constructor(
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(DEAD_LETTER_PUBLISHER) private readonly deadLetters: DeadLetterPublisher,
    readiness: ReadinessRegistry,
  ) {
    readiness.register('consumers', async () => {
      const failing = this.retries.failing().filter((f) => f.attempts > 1);
      if (failing.length > 0) throw new Error(failing.map((f) => `${f.topic}[${f.partition}]@${f.offset}: ${f.attempts} attempts: ${f.reason}`).join('; '));
    });
    stuckGauge.addCallback((result) => result.observe(this.retries.stuckCount()));
  }

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
    const result = await this.retries.run(position, process);
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

  failed(position: MessagePosition, failure: ClassifiedFailure, attempts: number): void {
    failures.add(1, { topic: position.topic, kind: failure.kind });
    this.logger.warn({ ...position, attempts, kind: failure.kind, reason: failure.reason }, 'processing an event failed; retrying');
  }

  stuck(position: MessagePosition, failure: ClassifiedFailure, attempts: number): void {
    this.logger.error({ ...position, attempts, kind: failure.kind, reason: failure.reason }, 'partition stuck on one offset');
  }

  recovered(position: MessagePosition, attempts: number): void {
    this.logger.info({ ...position, attempts }, 'event processed after retries');
  }
}
