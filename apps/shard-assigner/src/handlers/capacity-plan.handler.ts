import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload } from '@nestjs/microservices';
import { metrics } from '@opentelemetry/api';
import { CapacityPlanEventSchema, ErrorCodes, Topics } from '@shardcast/contracts';
import { Logger, SERVICE_LOGGER } from '@shardcast/platform';

const consumed = metrics.getMeter('shard-assigner').createCounter('shardcast.events.consumed', { description: 'Events read from Kafka, by topic and outcome' });

/**
 * Consumes capacity.plan.v1: the capacity plans it places shards for. A factory, because
 * Nest's @EventPattern takes a constant, while the deployed topic carries KAFKA_TOPIC_PREFIX,
 * known only once the config is validated.
 */
export function capacityPlanHandler(topic: string): Type<unknown> {
  @Controller()
  class CapacityPlanHandler {
    constructor(@Inject(SERVICE_LOGGER) private readonly logger: Logger) {}

    /** An invalid event is logged and skipped, never thrown: Nest's Kafka server retries a throwing
     *  handler forever. Other errors (e.g. a database down) still throw, so the event is retried. */
    @EventPattern(topic)
    handle(@Payload() value: unknown, @Ctx() context: KafkaContext): void {
      const message = context.getMessage();
      const where = { topic, partition: context.getPartition(), offset: message.offset, key: message.key === null ? null : String(message.key) };
      const parsed = CapacityPlanEventSchema.safeParse(value);
      if (!parsed.success) {
        consumed.add(1, { topic: Topics.capacityPlan, outcome: 'invalid' });
        const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
        this.logger.warn({ ...where, code: ErrorCodes.EVENT_INVALID, issues }, 'event rejected');
        return;
      }
      const event = parsed.data;
      consumed.add(1, { topic: Topics.capacityPlan, outcome: 'accepted' });
      this.logger.info({ ...where, eventId: event.eventId, correlationId: event.correlationId, domain: event.payload.domain, planId: event.payload.planId, regions: event.payload.regions.length }, 'event received');
    }
  }
  return CapacityPlanHandler;
}
