import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { DEMAND_OBSERVED, DemandObserved, DemandObservedBatchEventSchema, DemandObservedEventSchema, deterministicEventId } from '@shardcast/contracts';
import { DefaultAllocationPolicy } from '@shardcast/allocation';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';
import { DomainAllocator } from '../allocation/domain-allocator';

/** The buckets the reactive net acts on: per (domain, region) the latest one, if it is not older than the observation's time-to-live. */
export function actionableBuckets(buckets: readonly DemandObserved[], nowMs: number): DemandObserved[] {
  const latest = new Map<string, DemandObserved>();
  for (const b of buckets) {
    const key = `${b.domain}\u0000${b.region}`;
    const held = latest.get(key);
    if (!held || Date.parse(b.bucketStart) > Date.parse(held.bucketStart) || (b.bucketStart === held.bucketStart && b.revision > held.revision)) latest.set(key, b);
  }
  return [...latest.values()].filter((b) => nowMs - (Date.parse(b.bucketStart) + b.bucketSeconds * 1000) <= DefaultAllocationPolicy.observedTtlMs);
}

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
        if (actionableBuckets([p], Date.now()).length === 0) {
          this.logger.debug({ topic, eventId: event.eventId, domain: p.domain, region: p.region, bucketStart: p.bucketStart }, 'observed demand too old to act on; skipped');
          return;
        }
        await observe(this.allocator, p, event);
      });
    }
  }
  return DemandObservedHandler;
}

/**
 * Consumes demand.observed.v2 (many buckets per event): the same net, acting once per (domain,
 * region) on the event's latest bucket.
 */
export function demandObservedBatchHandler(topic: string): Type<unknown> {
  @Controller()
  class DemandObservedBatchHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
      private readonly allocator: DomainAllocator,
    ) {}

    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(DemandObservedBatchEventSchema, context, async (event) => {
        this.logger.debug({ topic, partition: context.getPartition(), offset: context.getMessage().offset, eventId: event.eventId, correlationId: event.correlationId, buckets: event.payload.buckets.length }, 'event received');
        // Each bucket is applied once under its v1 event id (processed events are keyed by id): the
        // same bucket from either topic is the same input.
        for (const p of actionableBuckets(event.payload.buckets, Date.now())) {
          await observe(this.allocator, p, { eventId: deterministicEventId(DEMAND_OBSERVED, p.domain, p.region, p.bucketStart, p.revision), correlationId: event.correlationId });
        }
      });
    }
  }
  return DemandObservedBatchHandler;
}

function observe(allocator: DomainAllocator, p: DemandObserved, cause: { eventId: string; correlationId: string }): Promise<unknown> {
  const ratePerSecond = p.requests / p.bucketSeconds;
  return allocator.allocate(p.domain, (atMs) => ({ kind: 'observed', atMs, region: p.region, ratePerSecond }), { eventId: cause.eventId, correlationId: cause.correlationId });
}
