import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { z } from 'zod';
import { DemandObserved, DemandObservedBatchEventSchema, DemandObservedEventSchema, observedBucketEventId } from '@shardcast/contracts';
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
 * The reactive net: demand above what is reserved scales up at once, within pool limits
 * (`decide` holds observed × (1 + margin) as a floor under any forecast), once per (domain,
 * region) per event, on its latest bucket. A bucket older than the observation's time-to-live (a
 * replay, a backlog) sets no floor any more and is skipped. Each bucket is applied under an id
 * (processed events are keyed by id): the same bucket from either topic is the same input.
 */
function observedDemandHandler<E extends { eventId: string; correlationId: string }>(
  topic: string,
  schema: z.ZodType<E>,
  buckets: (event: E) => DemandObserved[],
  idOf: (event: E, bucket: DemandObserved) => string,
): Type<unknown> {
  @Controller()
  class ObservedDemandHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
      private readonly allocator: DomainAllocator,
    ) {}

    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(schema, context, async (event) => {
        const carried = buckets(event);
        this.logger.debug({ topic, partition: context.getPartition(), offset: context.getMessage().offset, eventId: event.eventId, correlationId: event.correlationId, buckets: carried.length }, 'event received');
        const actionable = actionableBuckets(carried, Date.now());
        if (actionable.length === 0) this.logger.debug({ topic, eventId: event.eventId }, 'observed demand too old to act on; skipped');
        for (const p of actionable) {
          const ratePerSecond = p.requests / p.bucketSeconds;
          await this.allocator.allocate(p.domain, (atMs) => ({ kind: 'observed', atMs, region: p.region, ratePerSecond, bucketStartMs: Date.parse(p.bucketStart) }), { eventId: idOf(event, p), correlationId: event.correlationId });
        }
      });
    }
  }
  return ObservedDemandHandler;
}

/** demand.observed.v1: one bucket per event, under the event's id. */
export const demandObservedHandler = (topic: string): Type<unknown> => observedDemandHandler(topic, DemandObservedEventSchema, (e) => [e.payload], (e) => e.eventId);

/** demand.observed.v2: many buckets per event, each under the id its v1 event has. */
export const demandObservedBatchHandler = (topic: string): Type<unknown> =>
  observedDemandHandler(topic, DemandObservedBatchEventSchema, (e) => e.payload.buckets, (_e, bucket) => observedBucketEventId(bucket));
