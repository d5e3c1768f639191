import { RegionEndpointsSchema, RegionIdSchema, ResourceNeed, ResourceNeedSchema, Tier } from '@shardcast/contracts';
import { z } from 'zod';

/**
 * A region's resource pool: data (a seed file, then the allocator's API), never code. Capacity is
 * what the region can give shardcast's domains in all; the provisioning delay is how long new
 * capacity takes to come up, so the allocator reserves that far ahead of the demand.
 */
export const RegionPoolSchema = z
  .object({
    region: RegionIdSchema,
    capacity: ResourceNeedSchema.strict(),
    provisioningDelaySeconds: z.number().int().nonnegative().max(86_400),
    /** Cost of one unit for one hour, per resource: what the simulator and the API report as spend. */
    costPerHour: z.object({ cpuCore: z.number().nonnegative(), memoryGiB: z.number().nonnegative(), egressMbps: z.number().nonnegative() }).strict(),
    /** Where the region's shards are reached: addresses, or a CNAME target (carried to shard-assigner and DNS). */
    endpoints: RegionEndpointsSchema,
  })
  .strict();
export type RegionPool = z.infer<typeof RegionPoolSchema>;

/** The pools seed file the allocator upserts at start (deploy/pools/default.json). */
export const RegionPoolsFileSchema = z
  .object({ pools: z.array(RegionPoolSchema).min(1).max(256) })
  .strict()
  .refine((f) => new Set(f.pools.map((p) => p.region)).size === f.pools.length, 'each region may have one pool');

export const ZERO: ResourceNeed = Object.freeze({ cpuCores: 0, memoryGiB: 0, egressMbps: 0 });
const DIMENSIONS = ['cpuCores', 'memoryGiB', 'egressMbps'] as const;

export function addNeed(a: ResourceNeed, b: ResourceNeed): ResourceNeed {
  return { cpuCores: a.cpuCores + b.cpuCores, memoryGiB: a.memoryGiB + b.memoryGiB, egressMbps: a.egressMbps + b.egressMbps };
}

/** a − b, never below zero in any dimension. */
export function subtractNeed(a: ResourceNeed, b: ResourceNeed): ResourceNeed {
  return { cpuCores: Math.max(0, a.cpuCores - b.cpuCores), memoryGiB: Math.max(0, a.memoryGiB - b.memoryGiB), egressMbps: Math.max(0, a.egressMbps - b.egressMbps) };
}

export function scaleNeed(a: ResourceNeed, k: number): ResourceNeed {
  return { cpuCores: a.cpuCores * k, memoryGiB: a.memoryGiB * k, egressMbps: a.egressMbps * k };
}

/** Whether `need` fits within `limit` in every dimension (with a relative tolerance for float sums). */
export function fitsWithin(need: ResourceNeed, limit: ResourceNeed): boolean {
  return DIMENSIONS.every((d) => need[d] <= limit[d] * (1 + 1e-9) + 1e-12);
}

export function needsEqual(a: ResourceNeed, b: ResourceNeed): boolean {
  return DIMENSIONS.every((d) => Math.abs(a[d] - b[d]) <= 1e-9 * Math.max(1, Math.abs(a[d]), Math.abs(b[d])));
}

/** How many times `perUnit` fits in `available` (the binding dimension decides); Infinity if it asks nothing. */
export function unitsThatFit(available: ResourceNeed, perUnit: ResourceNeed): number {
  let units = Infinity;
  for (const d of DIMENSIONS) if (perUnit[d] > 0) units = Math.min(units, Math.max(0, available[d]) / perUnit[d]);
  return units;
}

/** Spend per hour of holding `need` in `pool`. */
export function costPerHour(pool: RegionPool, need: ResourceNeed): number {
  return need.cpuCores * pool.costPerHour.cpuCore + need.memoryGiB * pool.costPerHour.memoryGiB + need.egressMbps * pool.costPerHour.egressMbps;
}

/**
 * Priority by tier when a pool runs short, without preempting anyone: a tier may commit a pool only
 * up to its ceiling, so the last 20 % is kept for paying tiers and the last 10 % for enterprise.
 * A check the ledger can enforce in one statement (committed + delta ≤ capacity × ceiling), so two
 * allocator instances cannot race past it.
 */
export const TierPoolCeiling: Record<Tier, number> = { free: 0.8, pro: 0.9, enterprise: 1 };

/** What a tier may still commit in a pool, given what every domain has committed there. */
export function tierAvailable(pool: RegionPool, committed: ResourceNeed, tier: Tier): ResourceNeed {
  return subtractNeed(scaleNeed(pool.capacity, TierPoolCeiling[tier]), committed);
}
