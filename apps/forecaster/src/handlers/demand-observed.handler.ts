import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { z } from 'zod';
import { DemandObserved, DemandObservedBatchEventSchema, DemandObservedEventSchema, observedBucketEventId } from '@shardcast/contracts';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';
import { ObservedDemandRecorder } from './observed-demand-recorder';

/**
 * A consumer of observed demand: each bucket an event carries is recorded into the history under
 * its id. A factory, because Nest's @EventPattern takes a constant, while the deployed topic
 * carries KAFKA_TOPIC_PREFIX, known only once the config is validated.
 */
function observedDemandHandler<E extends { eventId: string; correlationId: string }>(
  topic: string,
  schema: z.ZodType<E>,
  buckets: (event: E) => Array<{ bucket: DemandObserved; eventId: string }>,
): Type<unknown> {
  @Controller()
  class ObservedDemandHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
      private readonly recorder: ObservedDemandRecorder,
    ) {}

    /** The gate dead-letters an invalid event, retries a failing one under the platform's failure policy. */
    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(schema, context, async (event) => {
        const where = { topic, partition: context.getPartition(), offset: context.getMessage().offset };
        const carried = buckets(event);
        this.logger.debug({ ...where, eventId: event.eventId, correlationId: event.correlationId, buckets: carried.length }, 'event received');
        for (const { bucket, eventId } of carried) await this.recorder.record(bucket, { eventId, correlationId: event.correlationId }, where);
      });
    }
  }
  return ObservedDemandHandler;
}

/** demand.observed.v1: one bucket per event, under the event's id. */
export const demandObservedHandler = (topic: string): Type<unknown> => observedDemandHandler(topic, DemandObservedEventSchema, (e) => [{ bucket: e.payload, eventId: e.eventId }]);

/**
 * demand.observed.v2: many buckets per event (one event per ingest commit of a source partition),
 * each under the id its v1 event has; a retry of the event re-records buckets already stored,
 * which their revision makes a no-op.
 */
export const demandObservedBatchHandler = (topic: string): Type<unknown> =>
  observedDemandHandler(topic, DemandObservedBatchEventSchema, (e) => e.payload.buckets.map((bucket) => ({ bucket, eventId: observedBucketEventId(bucket) })));
