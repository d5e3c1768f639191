import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload } from '@nestjs/microservices';
import { metrics } from '@opentelemetry/api';
import { DemandForecastEventSchema, ErrorCodes, Topics } from '@shardcast/contracts';
import { Logger, SERVICE_LOGGER } from '@shardcast/platform';

const consumed = metrics.getMeter('allocator').createCounter('shardcast.events.consumed', { description: 'Events read from Kafka, by topic and outcome' });

/**
 * Consumes demand.forecast.v1: the forecasts it reserves capacity for. A factory, because
 * Nest's @EventPattern takes a constant, while the deployed topic carries KAFKA_TOPIC_PREFIX,
 * known only once the config is validated.
 */
export function demandForecastHandler(topic: string): Type<unknown> {
  @Controller()
  class DemandForecastHandler {
    constructor(@Inject(SERVICE_LOGGER) private readonly logger: Logger) {}

    /** An invalid event is logged and skipped, never thrown: Nest's Kafka server retries a throwing
     *  handler forever. Other errors (e.g. a database down) still throw, so the event is retried. */
    @EventPattern(topic)
    handle(@Payload() value: unknown, @Ctx() context: KafkaContext): void {
      const message = context.getMessage();
      const where = { topic, partition: context.getPartition(), offset: message.offset, key: message.key === null ? null : String(message.key) };
      const parsed = DemandForecastEventSchema.safeParse(value);
      if (!parsed.success) {
        consumed.add(1, { topic: Topics.demandForecast, outcome: 'invalid' });
        const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
        this.logger.warn({ ...where, code: ErrorCodes.EVENT_INVALID, issues }, 'event rejected');
        return;
      }
      const event = parsed.data;
      consumed.add(1, { topic: Topics.demandForecast, outcome: 'accepted' });
      this.logger.info({ ...where, eventId: event.eventId, correlationId: event.correlationId, domain: event.payload.domain, region: event.payload.region, steps: event.payload.steps.length }, 'event received');
    }
  }
  return DemandForecastHandler;
}
