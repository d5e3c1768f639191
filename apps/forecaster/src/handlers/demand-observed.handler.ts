import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload } from '@nestjs/microservices';
import { metrics } from '@opentelemetry/api';
import { DemandObservedEventSchema, ErrorCodes, Topics } from '@shardcast/contracts';
import { Logger, SERVICE_LOGGER } from '@shardcast/platform';
import { ForecasterStore } from '../persistence/forecaster-store';
import { ForecastScheduler } from '../forecasting/forecast-scheduler';

const consumed = metrics.getMeter('forecaster').createCounter('shardcast.events.consumed', { description: 'Events read from Kafka, by topic and outcome' });

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
      private readonly store: ForecasterStore,
      private readonly scheduler: ForecastScheduler,
    ) {}

    /** An invalid event is logged and skipped, never thrown: Nest's Kafka server retries a throwing
     *  handler forever. Other errors (e.g. a database down) still throw, so the event is retried. */
    @EventPattern(topic)
    async handle(@Payload() value: unknown, @Ctx() context: KafkaContext): Promise<void> {
      const message = context.getMessage();
      const where = { topic, partition: context.getPartition(), offset: message.offset, key: message.key === null ? null : String(message.key) };
      const parsed = DemandObservedEventSchema.safeParse(value);
      if (!parsed.success) {
        consumed.add(1, { topic: Topics.demandObserved, outcome: 'invalid' });
        const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
        this.logger.warn({ ...where, code: ErrorCodes.EVENT_INVALID, issues }, 'event rejected');
        return;
      }
      const event = parsed.data;
      consumed.add(1, { topic: Topics.demandObserved, outcome: 'accepted' });
      this.logger.info({ ...where, eventId: event.eventId, correlationId: event.correlationId, domain: event.payload.domain, region: event.payload.region, revision: event.payload.revision }, 'event received');
      // A database error is thrown on purpose: the transport retries, so no observation is lost.
      if (await this.store.recordObserved(event)) {
        this.scheduler.markDirty({ domain: event.payload.domain, region: event.payload.region }, { eventId: event.eventId, correlationId: event.correlationId });
      }
    }
  }
  return DemandObservedHandler;
}
