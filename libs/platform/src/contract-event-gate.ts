import { Inject, Injectable } from '@nestjs/common';
import type { KafkaContext } from '@nestjs/microservices';
import { metrics } from '@opentelemetry/api';
import type { z } from 'zod';
import { ErrorCodes } from '@shardcast/contracts';
import { DeadLetterPublisher } from './dead-letter-publisher';
import type { Logger } from './logger';

export const SERVICE_LOGGER = Symbol('SERVICE_LOGGER');
export const DEAD_LETTER_PUBLISHER = Symbol('DEAD_LETTER_PUBLISHER');

const consumed = metrics.getMeter('shardcast').createCounter('shardcast.events.consumed', { description: 'Events read from Kafka, by topic and outcome' });

/**
 * The one place where a Nest Kafka handler's message is parsed and checked against its contract.
 * The transport runs with `keepBinary`, so the original bytes are still here: an invalid message
 * goes to `<topic>.dlq` with its reason and the handler moves on (a throwing handler would be
 * retried forever, nestjs/nest#14664).
 */
@Injectable()
export class ContractEventGate {
  constructor(
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(DEAD_LETTER_PUBLISHER) private readonly deadLetters: DeadLetterPublisher,
  ) {}

  async read<S extends z.ZodType>(schema: S, context: KafkaContext): Promise<z.infer<S> | null> {
    const message = context.getMessage();
    const topic = context.getTopic();
    const raw = message.value === null || message.value === undefined ? null : Buffer.isBuffer(message.value) ? message.value : Buffer.from(String(message.value));
    const key = message.key === null || message.key === undefined ? null : String(message.key);
    const where = { topic, partition: context.getPartition(), offset: message.offset, key };
    let reason: string;
    let code: typeof ErrorCodes.EVENT_INVALID | typeof ErrorCodes.TELEMETRY_MALFORMED_JSON = ErrorCodes.EVENT_INVALID;
    try {
      const parsed = schema.safeParse(JSON.parse(raw?.toString('utf8') ?? 'null'));
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
      code = ErrorCodes.EVENT_INVALID;
    }
    consumed.add(1, { topic, outcome: 'invalid' });
    this.logger.warn({ ...where, code, reason }, 'event rejected');
    await this.deadLetters.publish([
      { sourceTopic: topic, partition: context.getPartition(), offset: message.offset, key: (message.key as Buffer | null) ?? null, value: raw, code, reason },
    ]);
    return null;
  }
}
