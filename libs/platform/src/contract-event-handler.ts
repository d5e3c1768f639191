import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import type { z } from 'zod';
import { ConsumeOptions, ContractEventGate, SERVICE_LOGGER } from './contract-event-gate';
import type { Logger } from './logger';

/**
 * A Nest Kafka controller for `topic` that validates each event against `schema` (the gate
 * dead-letters invalid ones) and logs what `describe` picks out of it. A factory, because
 * @EventPattern takes a constant while the deployed topic carries KAFKA_TOPIC_PREFIX, known only
 * once the config is validated. Services whose handling is still only observation use it as is.
 */
export function contractEventHandler<S extends z.ZodType>(
  topic: string,
  schema: S,
  describe: (event: z.infer<S>) => Record<string, unknown>,
  options: { compacted?: boolean } = {},
): Type<unknown> {
  @Controller()
  class ContractEventHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
    ) {}

    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      const where = { topic, partition: context.getPartition(), offset: context.getMessage().offset };
      const consumeOptions: ConsumeOptions = options.compacted ? { onTombstone: async (key) => this.logger.debug({ ...where, key }, 'tombstone received') } : {};
      await this.gate.consume(schema, context, async (event) => this.logger.debug({ ...where, ...describe(event) }, 'event received'), consumeOptions);
    }
  }
  return ContractEventHandler;
}
