import { Type } from '@nestjs/common';
import { CapacityPlanEventSchema } from '@shardcast/contracts';
import { contractEventHandler } from '@shardcast/platform';

/** Consumes capacity.plan.v1: the capacity plans it turns into shards (observed only, until its issue builds the logic). */
export function capacityPlanHandler(topic: string): Type<unknown> {
  return contractEventHandler(topic, CapacityPlanEventSchema, (e) => ({ eventId: e.eventId, correlationId: e.correlationId, domain: e.payload.domain, planId: e.payload.planId, version: e.payload.version, regions: e.payload.regions.length }));
}
