import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { CapacityPlanEventSchema } from '@shardcast/contracts';
import { plannedRouting, routingKey } from '@shardcast/dns';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';
import { DnsStore } from '../persistence/dns-store';
import { DomainPublisher } from '../publishing/domain-publisher';

/**
 * Consumes capacity.plan.v1 for capacity-aware answers: where the allocator serves each origin's
 * demand (at home, and the overflow in the closest pools with room, ahead of a forecast peak).
 * A newer plan's routing is stored; the domain is republished only when the shares, rounded as
 * the answers use them, changed (most plans move capacity, not answers).
 */
export function capacityPlanHandler(topic: string): Type<unknown> {
  @Controller()
  class CapacityPlanHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
      private readonly store: DnsStore,
      private readonly publisher: DomainPublisher,
    ) {}

    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(CapacityPlanEventSchema, context, async (event) => {
        const plan = event.payload;
        this.logger.debug({ topic, partition: context.getPartition(), offset: context.getMessage().offset, eventId: event.eventId, correlationId: event.correlationId, domain: plan.domain, version: plan.version }, 'event received');
        const routing = plannedRouting(plan);
        const before = await this.store.withDomainLock(plan.domain, (tx) => this.store.putRouting(tx, plan.domain, plan.version, routing, event.eventId));
        if (before === false) {
          this.logger.debug({ domain: plan.domain, version: plan.version }, 'plan not newer than the one held; skipped');
          return;
        }
        if (routingKey(before ?? new Map()) === routingKey(routing)) return;
        await this.publisher.publish(plan.domain, { layoutVersion: null, eventId: event.eventId });
      });
    }
  }
  return CapacityPlanHandler;
}
