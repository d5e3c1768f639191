import { z } from 'zod';
import { envelopeSchema, EventEnvelope } from './envelope';
import { ResourceNeedSchema } from './demand-forecast';

export const CAPACITY_PLAN = 'capacity.plan';

/** Capacity the allocator reserved for a domain, per region, for a time window. */
export const CapacityPlanSchema = z.object({
  domain: z.string(),
  planId: z.string(),
  validFrom: z.iso.datetime({ offset: true }),
  validUntil: z.iso.datetime({ offset: true }),
  regions: z.array(
    z.object({
      region: z.string(),
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
