import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { DEMAND_OBSERVED, DemandObservedBatchEventSchema, DemandObservedEventSchema, deterministicEventId } from '@shardcast/contracts';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';
import { ObservedDemandRecorder } from './observed-demand-recorder';

/**
 * Consumes demand.observed.v1: the demand history it builds its forecasts from. A factory,
 * because Nest's @EventPattern takes a constant, while the deployed topic carries
 * KAFKA_TOPIC_PREFIX, known only once the config is validated.
 */
export function demandObservedHandler(topic: string): Type<unknown> {
  @Controller()
  class DemandObservedHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
      private readonly recorder: ObservedDemandRecorder,
    ) {}

    /** The gate dead-letters an invalid event, retries a failing one under the platform's failure policy. */
    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(DemandObservedEventSchema, context, async (event) => {
        const where = { topic, partition: context.getPartition(), offset: context.getMessage().offset };
        this.logger.debug({ ...where, eventId: event.eventId, correlationId: event.correlationId, domain: event.payload.domain, region: event.payload.region, revision: event.payload.revision }, 'event received');
        await this.recorder.record(event.payload, event, where);
      });
    }
  }
  return DemandObservedHandler;
}

/**
 * Consumes demand.observed.v2: the same buckets, many per event (one event per ingest commit of a
 * source partition). Each bucket is recorded as its v1 event would be; a retry of the event
 * re-records buckets already stored, which their revision makes a no-op.
 */
export function demandObservedBatchHandler(topic: string): Type<unknown> {
  @Controller()
  class DemandObservedBatchHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
      private readonly recorder: ObservedDemandRecorder,
    ) {}

    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(DemandObservedBatchEventSchema, context, async (event) => {
        const where = { topic, partition: context.getPartition(), offset: context.getMessage().offset };
        this.logger.debug({ ...where, eventId: event.eventId, correlationId: event.correlationId, buckets: event.payload.buckets.length }, 'event received');
        for (const bucket of event.payload.buckets) {
          const eventId = deterministicEventId(DEMAND_OBSERVED, bucket.domain, bucket.region, bucket.bucketStart, bucket.revision);
          await this.recorder.record(bucket, { eventId, correlationId: event.correlationId }, where);
        }
      });
    }
  }
  return DemandObservedBatchHandler;
}
