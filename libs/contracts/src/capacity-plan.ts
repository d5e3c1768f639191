import { z } from 'zod';
import { envelopeSchema, EventEnvelope } from './envelope';
import { DomainFieldSchema, RegionIdSchema, textField, TimestampSchema } from './fields';
import { ResourceNeedSchema } from './forecast-resources';

export const CAPACITY_PLAN = 'capacity.plan';

/** Capacity the allocator reserved for a domain, per region, for a time window. */
export const CapacityPlanSchema = z.object({
  domain: DomainFieldSchema,
  planId: textField(128).min(1),
  validFrom: TimestampSchema,
  validUntil: TimestampSchema,
  regions: z.array(
    z.object({
      region: RegionIdSchema,
      reserved: ResourceNeedSchema,
      /** proactive: ahead of forecast demand; reactive: safety net after observed overload. */
      reason: z.enum(['proactive', 'reactive']),
      /** Share of the predicted demand this reservation covers (pool limits may cut it). */
      coverage: z.number().min(0).max(1),
    }),
  ),
});

export const CapacityPlanEventSchema = envelopeSchema(CAPACITY_PLAN, CapacityPlanSchema);
export type CapacityPlan = z.infer<typeof CapacityPlanSchema>;
export type CapacityPlanEvent = EventEnvelope<typeof CAPACITY_PLAN, CapacityPlan>;
