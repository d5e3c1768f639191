import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { CapacityPlanEventSchema } from '@shardcast/contracts';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';

/**
 * Consumes capacity.plan.v1: the capacity plans it places shards for. A factory, because
 * Nest's @EventPattern takes a constant, while the deployed topic carries KAFKA_TOPIC_PREFIX,
 * known only once the config is validated.
 */
export function capacityPlanHandler(topic: string): Type<unknown> {
  @Controller()
  class CapacityPlanHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
    ) {}

    /** The gate dead-letters an invalid event; other errors (a database down) throw and are retried. */
    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      const event = await this.gate.read(CapacityPlanEventSchema, context);
      if (!event) return;
      const message = context.getMessage();
      const where = { topic, partition: context.getPartition(), offset: message.offset };
      this.logger.debug({ ...where, eventId: event.eventId, correlationId: event.correlationId, domain: event.payload.domain, planId: event.payload.planId, regions: event.payload.regions.length }, 'event received');
    }
  }
  return CapacityPlanHandler;
}
