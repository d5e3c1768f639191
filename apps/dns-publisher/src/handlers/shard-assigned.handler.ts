import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { ShardAssignedEventSchema } from '@shardcast/contracts';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';

/**
 * Consumes shard.assigned.v1: the shard layouts it turns into DNS records. A factory, because
 * Nest's @EventPattern takes a constant, while the deployed topic carries KAFKA_TOPIC_PREFIX,
 * known only once the config is validated.
 */
export function shardAssignedHandler(topic: string): Type<unknown> {
  @Controller()
  class ShardAssignedHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
    ) {}

    /** The gate dead-letters an invalid event; other errors (a database down) throw and are retried. */
    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      const event = await this.gate.read(ShardAssignedEventSchema, context);
      if (!event) return;
      const message = context.getMessage();
      const where = { topic, partition: context.getPartition(), offset: message.offset };
      this.logger.debug({ ...where, eventId: event.eventId, correlationId: event.correlationId, domain: event.payload.domain, version: event.payload.version, shards: event.payload.shards.length }, 'event received');
    }
  }
  return ShardAssignedHandler;
}
