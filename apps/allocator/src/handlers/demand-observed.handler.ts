import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { DemandObservedEventSchema } from '@shardcast/contracts';
import { DefaultAllocationPolicy } from '@shardcast/allocation';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';
import { DomainAllocator } from '../allocation/domain-allocator';

/**
 * Consumes demand.observed.v1, the reactive net: demand above what is reserved scales up at once,
 * within pool limits (`decide` holds observed × (1 + margin) as a floor under any forecast).
 * A bucket older than the observation's time-to-live (a replay, a backlog) sets no floor any more
 * and is skipped.
 */
export function demandObservedHandler(topic: string): Type<unknown> {
  @Controller()
  class DemandObservedHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
      private readonly allocator: DomainAllocator,
    ) {}

    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(DemandObservedEventSchema, context, async (event) => {
        const p = event.payload;
        this.logger.debug({ topic, partition: context.getPartition(), offset: context.getMessage().offset, eventId: event.eventId, correlationId: event.correlationId, domain: p.domain, region: p.region }, 'event received');
        const bucketEndMs = Date.parse(p.bucketStart) + p.bucketSeconds * 1000;
        if (Date.now() - bucketEndMs > DefaultAllocationPolicy.observedTtlMs) {
          this.logger.debug({ topic, eventId: event.eventId, domain: p.domain, region: p.region, bucketStart: p.bucketStart }, 'observed demand too old to act on; skipped');
          return;
        }
        const ratePerSecond = p.requests / p.bucketSeconds;
        await this.allocator.allocate(p.domain, (atMs) => ({ kind: 'observed', atMs, region: p.region, ratePerSecond }), { eventId: event.eventId, correlationId: event.correlationId });
      });
    }
  }
  return DemandObservedHandler;
}
