import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { CapacityPlanEventSchema } from '@shardcast/contracts';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';
import { DomainAssigner } from '../assignment/domain-assigner';

/**
 * Consumes capacity.plan.v1: each plan re-decides its domain's shards; a plan with no regions (a
 * released domain) publishes its empty layout, then a tombstone. The gate dead-letters an invalid
 * event and retries a failing one under the platform's failure policy. A redelivered or older
 * plan changes nothing (the state holds the latest plan version).
 */
export function capacityPlanHandler(topic: string): Type<unknown> {
  @Controller()
  class CapacityPlanHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
      private readonly assigner: DomainAssigner,
    ) {}

    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(CapacityPlanEventSchema, context, async (event) => {
        const plan = event.payload;
        this.logger.debug({ topic, partition: context.getPartition(), offset: context.getMessage().offset, eventId: event.eventId, correlationId: event.correlationId, domain: plan.domain, version: plan.version }, 'event received');
        const outcome = await this.assigner.assign(plan.domain, { kind: 'plan', plan }, { eventId: event.eventId, correlationId: event.correlationId });
        if (outcome === 'stale') this.logger.info({ topic, eventId: event.eventId, domain: plan.domain, version: plan.version }, 'plan older than the one applied; skipped');
      });
    }
  }
  return CapacityPlanHandler;
}
