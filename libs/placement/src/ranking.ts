import type { CapacityPlan, ResourceNeed, Tier } from '@shardcast/contracts';

/** Round trips between regions (`LatencyMatrix` from @shardcast/allocation fits); null: unknown. */
export interface RoundTrips {
  rttMs(a: string, b: string): number | null;
}

export interface RankingPolicy {
  /** How many shards a domain gets, by tier. */
  readonly shardCount: Readonly<Record<Tier, number>>;
  /**
   * Demand served `halfLifeMs` of round trip away counts half (2^(−rtt/halfLife)): nearby demand
   * counts almost fully, demand across an ocean (~150 ms) about a tenth.
   */
  readonly halfLifeMs: number;
  /**
   * A scheduled peak this close counts as if it were now. Longer than dwell + warm-up (see
   * `ShardSetPolicy`), so a region added for a peak is active, its keys moved, before it.
   */
  readonly leadTimeMs: number;
}

export const DEFAULT_RANKING_POLICY: RankingPolicy = {
  shardCount: { free: 1, pro: 3, enterprise: 5 },
  halfLifeMs: 50,
  leadTimeMs: 60 * 60_000,
};

export interface RankedRegion {
  region: string;
  /** Latency-weighted demand served (requests/s): `requestsPerSecond` × `closeness`. What the ranking sorts by. */
  score: number;
  /** Demand the region serves (requests/s): now, or its scheduled peak within the lead time if higher. */
  requestsPerSecond: number;
  /** Whether it holds capacity now (false: held for an upcoming peak only). */
  reservedNow: boolean;
  /** The demand-weighted mean of 2^(−rtt/halfLife) over the origins it serves, in (0, 1]. */
  closeness: number;
}

export interface RegionRanking {
  domain: string;
  tier: Tier;
  /** How many shards the domain should have (the tier's count). */
  count: number;
  /** Every region that holds or will soon hold capacity for the domain, best first. */
  regions: RankedRegion[];
}

/** Throws a RangeError on a policy no configuration should produce. */
export function checkRankingPolicy(policy: RankingPolicy): void {
  for (const [tier, n] of Object.entries(policy.shardCount)) {
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`shard count of tier ${tier} must be an integer ≥ 0, not ${n}`);
  }
  if (!(policy.halfLifeMs > 0 && Number.isFinite(policy.halfLifeMs))) throw new RangeError(`halfLifeMs must be a positive number, not ${policy.halfLifeMs}`);
  if (!(policy.leadTimeMs >= 0 && Number.isFinite(policy.leadTimeMs))) throw new RangeError(`leadTimeMs must be ≥ 0, not ${policy.leadTimeMs}`);
}

/** A scalar proportional to the request rate a reservation carries: every component is rate × the domain's per-request cost. */
function size(need: ResourceNeed): number {
  return need.cpuCores + need.memoryGiB + need.egressMbps;
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Ranks the regions of a domain's capacity plan as shard locations. Each region scores the demand
 * it serves weighted by how close it is to where that demand comes from (`servedByOrigin`), so the
 * regions demand comes from rank first, then the closest ones serving its spill. Only regions with
 * capacity are candidates (keys follow reserved capacity; a region without it cannot take any).
 * A region's scheduled peak within the lead time counts now, so a region can join before its peak.
 * Ties: more demand served, then the region id. Pure and deterministic.
 */
export function rankRegions(plan: CapacityPlan, latency: RoundTrips, nowMs: number, policy: RankingPolicy = DEFAULT_RANKING_POLICY): RegionRanking {
  checkRankingPolicy(policy);
  // In region order, so sums (and their rounding) do not depend on the plan's order.
  const planned = [...plan.regions].sort((a, b) => byId(a.region, b.region));
  // Requests per second per unit of `size`: one figure per domain (one request cost), for schedule blocks.
  let rate = 0;
  let units = 0;
  for (const r of planned) {
    if (r.requestsPerSecond > 0 && size(r.reserved) > 0) {
      rate += r.requestsPerSecond;
      units += size(r.reserved);
    }
  }
  const ratePerUnit = units > 0 ? rate / units : 0;
  const horizon = nowMs + policy.leadTimeMs;

  const regions: RankedRegion[] = [];
  for (const r of planned) {
    let upcoming = 0;
    for (const block of r.schedule) {
      if (Date.parse(block.from) < horizon && Date.parse(block.until) > nowMs) upcoming = Math.max(upcoming, size(block.reserved) * ratePerUnit);
    }
    const now = r.requestsPerSecond;
    const requestsPerSecond = Math.max(now, upcoming);
    // Capacity with no rate known (no region states one) still makes a candidate, ranked last.
    if (!(requestsPerSecond > 0) && !(size(r.reserved) > 0)) continue;
    const closeness = closenessOf(r.region, r.servedByOrigin, latency, policy.halfLifeMs);
    regions.push({ region: r.region, score: requestsPerSecond * closeness, requestsPerSecond, reservedNow: now > 0 || size(r.reserved) > 0, closeness });
  }
  regions.sort((a, b) => b.score - a.score || b.requestsPerSecond - a.requestsPerSecond || byId(a.region, b.region));
  return { domain: plan.domain, tier: plan.tier, count: policy.shardCount[plan.tier], regions };
}

/** Demand-weighted mean of 2^(−rtt/halfLife) over the origins; no breakdown: its own demand. */
function closenessOf(region: string, served: CapacityPlan['regions'][number]['servedByOrigin'], latency: RoundTrips, halfLifeMs: number): number {
  // Summed in origin order, so the result does not depend on the plan's order.
  const origins = [...served].filter((s) => s.requestsPerSecond > 0).sort((a, b) => byId(a.origin, b.origin) || a.requestsPerSecond - b.requestsPerSecond);
  const weightOf = (origin: string) => {
    const rtt = latency.rttMs(origin, region);
    if (rtt !== null) return Math.pow(2, -rtt / halfLifeMs);
    return origin === region ? 1 : 0; // an unknown pair counts as far away
  };
  const total = origins.reduce((s, o) => s + o.requestsPerSecond, 0);
  if (!(total > 0)) return weightOf(region);
  return origins.reduce((s, o) => s + o.requestsPerSecond * weightOf(o.origin), 0) / total;
}

/** The best `ranking.count` regions. */
export function topRegions(ranking: RegionRanking): RankedRegion[] {
  return ranking.regions.slice(0, ranking.count);
}
