import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { DemandObservedEventSchema } from '@shardcast/contracts';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';
import { ForecasterStore } from '../persistence/forecaster-store';
import { ForecastScheduler } from '../forecasting/forecast-scheduler';

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
      private readonly store: ForecasterStore,
      private readonly scheduler: ForecastScheduler,
    ) {}

    /** The gate dead-letters an invalid event, retries a failing one under the platform's failure policy. */
    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(DemandObservedEventSchema, context, async (event) => {
        const where = { topic, partition: context.getPartition(), offset: context.getMessage().offset };
        this.logger.debug({ ...where, eventId: event.eventId, correlationId: event.correlationId, domain: event.payload.domain, region: event.payload.region, revision: event.payload.revision }, 'event received');
        const outcome = await this.store.recordObserved(event);
        if (outcome === 'recorded') {
          this.scheduler.markDirty({ domain: event.payload.domain, region: event.payload.region }, { eventId: event.eventId, correlationId: event.correlationId });
        } else if (outcome === 'rolled-up') {
          // Not silently: a revision of a day rolled up already (its hour keeps the total it had).
          this.logger.warn({ ...where, eventId: event.eventId, domain: event.payload.domain, region: event.payload.region, bucketStart: event.payload.bucketStart, revision: event.payload.revision }, 'demand.observed event for a day already rolled up; not recorded');
        }
      });
    }
  }
  return DemandObservedHandler;
}
