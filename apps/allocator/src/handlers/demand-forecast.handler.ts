import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { DemandForecastEventSchema } from '@shardcast/contracts';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';
import { DomainAllocator } from '../allocation/domain-allocator';

/**
 * Consumes demand.forecast.v1: a forecast re-plans its domain ahead of demand; a deregistration
 * releases the domain's reservations and publishes its final, empty plan. The gate dead-letters
 * an invalid event and retries a failing one under the platform's failure policy.
 */
export function demandForecastHandler(topic: string): Type<unknown> {
  @Controller()
  class DemandForecastHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
      private readonly allocator: DomainAllocator,
    ) {}

    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(DemandForecastEventSchema, context, async (event) => {
        const p = event.payload;
        this.logger.debug({ topic, partition: context.getPartition(), offset: context.getMessage().offset, eventId: event.eventId, correlationId: event.correlationId, domain: p.domain, kind: p.kind }, 'event received');
        const cause = { eventId: event.eventId, correlationId: event.correlationId };
        const outcome =
          p.kind === 'forecast'
            ? await this.allocator.allocate(p.domain, (atMs) => ({ kind: 'forecast', atMs, eventId: event.eventId, forecast: p }), cause)
            : await this.allocator.allocate(p.domain, (atMs) => ({ kind: 'deregistered', atMs, eventId: event.eventId }), cause);
        if (outcome === 'duplicate') this.logger.info({ topic, eventId: event.eventId, domain: p.domain }, 'event applied already; skipped');
      });
    }
  }
  return DemandForecastHandler;
}
