import { z } from 'zod';
import { QuantileLevels, Tiers } from './domain-policy';
import { envelopeSchema, EventEnvelope } from './envelope';
import { DomainFieldSchema, PositiveInt32Schema, RegionIdSchema, textField, TimestampSchema } from './fields';
import { ResourceNeedSchema } from './forecast-resources';

export const CAPACITY_PLAN = 'capacity.plan';

/** Why a region holds what it holds: ahead of a forecast, ahead of a registration's prior, after observed demand, for another region's demand, or cut by the pool. */
export const CapacityReasons = ['proactive', 'prior', 'reactive', 'spill', 'limit'] as const;

/** Regions per plan and blocks per schedule at most (256 regions; 16 days of hourly blocks). */
export const MAX_PLAN_REGIONS = 256;
export const MAX_SCHEDULE_BLOCKS = 384;

/** Where a region's shards are reached: addresses, or one CNAME target (never both). Carried to shard-assigner and DNS. */
export const RegionEndpointsSchema = z
  .object({
    ipv4: z.array(z.ipv4()).max(16).default([]),
    ipv6: z.array(z.ipv6()).max(16).default([]),
    cname: DomainFieldSchema.optional(),
  })
  .strict()
  .refine((e) => e.cname === undefined || (e.ipv4.length === 0 && e.ipv6.length === 0), 'a CNAME target excludes addresses');

const RatePerSecond = z.number().nonnegative().max(1e12);

const ScheduleBlockSchema = z
  .object({ from: TimestampSchema, until: TimestampSchema, reserved: ResourceNeedSchema })
  .refine((b) => Date.parse(b.from) < Date.parse(b.until), 'from must be before until');

/**
 * A domain's capacity, per serving region, as the allocator reserved it
 * (docs/decisions/0024-allocation-decisions.md). Internal: revised in place before 1.0 (0011).
 * The shard-assigner needs nothing else: endpoints, demand by origin and the schedule are here.
 * A deregistered domain's last plan has no regions.
 */
export const CapacityPlanSchema = z
  .object({
    domain: DomainFieldSchema,
    tier: z.enum(Tiers),
    /** Monotonic per domain: a consumer ignores a plan older than the one it has. */
    version: PositiveInt32Schema,
    planId: textField(128).min(1),
    validFrom: TimestampSchema,
    validUntil: TimestampSchema,
    regions: z
      .array(
        z.object({
          region: RegionIdSchema,
          reason: z.enum(CapacityReasons),
          /** The forecast quantile the reservation follows; null when reactive or spill only. */
          quantile: z.enum(QuantileLevels).nullable(),
          reserved: ResourceNeedSchema,
          requestsPerSecond: RatePerSecond,
          /** This region's own demand its pool and the pools within reach could not take. */
          shortRequestsPerSecond: RatePerSecond,
          /** What the domain's tier may still commit in the region's pool after this plan. */
          poolHeadroom: ResourceNeedSchema,
          endpoints: RegionEndpointsSchema,
          /** Demand served here by where it comes from (a spill has origin ≠ region), with the forecast event behind it. */
          servedByOrigin: z
            .array(z.object({ origin: RegionIdSchema, requestsPerSecond: RatePerSecond, forecastEventId: textField(128).min(1).nullable() }))
            .max(MAX_PLAN_REGIONS),
          /** What the region is planned to hold over the forecast horizon (informational: the ledger holds the present). */
          schedule: z.array(ScheduleBlockSchema).max(MAX_SCHEDULE_BLOCKS),
        }),
      )
      .max(MAX_PLAN_REGIONS)
      .refine((rs) => new Set(rs.map((r) => r.region)).size === rs.length, 'each region may appear once'),
    /** Demand no pool within reach could take, by origin region. */
    shortByOrigin: z.array(z.object({ origin: RegionIdSchema, requestsPerSecond: RatePerSecond })).max(MAX_PLAN_REGIONS),
  })
  .refine((p) => Date.parse(p.validFrom) < Date.parse(p.validUntil), { message: 'validFrom must be before validUntil', path: ['validUntil'] });

export const CapacityPlanEventSchema = envelopeSchema(CAPACITY_PLAN, CapacityPlanSchema);
export type CapacityPlan = z.infer<typeof CapacityPlanSchema>;
export type CapacityPlanEvent = EventEnvelope<typeof CAPACITY_PLAN, CapacityPlan>;
export type RegionEndpoints = z.infer<typeof RegionEndpointsSchema>;
