/**
 * What a registration may say about a domain, and what its account tier means for provisioning.
 * Constants shared by every service: the forecaster publishes with them, the allocator provisions
 * with them, so they live here, in the one lib both read.
 */

/** Application types: the shape of a day and a week and the cost of a request follow from them. */
export const AppTypes = ['webapp', 'api', 'database', 'static', 'ssr', 'streaming', 'websocket'] as const;
export type AppType = (typeof AppTypes)[number];

export const Tiers = ['free', 'pro', 'enterprise'] as const;
export type Tier = (typeof Tiers)[number];

/** Account sizes: a registration without an expected peak gets its tier's default for its size. */
export const AccountSizes = ['small', 'medium', 'large'] as const;
export type AccountSize = (typeof AccountSizes)[number];

/** Quantile levels a forecast publishes; p05–p95 is the 90 % interval, p10–p90 the 80 % one. */
export const QuantileLevels = ['p05', 'p10', 'p50', 'p90', 'p95', 'p99'] as const;
export type QuantileLevel = (typeof QuantileLevels)[number];
export const QuantileProbability: Record<QuantileLevel, number> = { p05: 0.05, p10: 0.1, p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

export interface TierPolicyEntry {
  /** Cost of a request-second short of capacity, relative to `overCost` (newsvendor). */
  underCost: number;
  /** Cost of a request-second of idle capacity. */
  overCost: number;
  /** The published quantile at the newsvendor level τ = under / (under + over). */
  quantile: QuantileLevel;
  /** Multiplier on the provisioned quantile. */
  headroom: number;
  /** Expected peak requests per second by account size, when a registration gives no peak. */
  defaultPeakRequestsPerSecond: Record<AccountSize, number>;
}

/** The published quantile nearest the newsvendor level τ = under / (under + over), never below it. */
export function newsvendorQuantile(underCost: number, overCost: number): QuantileLevel {
  const tau = underCost / (underCost + overCost);
  return QuantileLevels.find((q) => QuantileProbability[q] >= tau - 1e-9) ?? 'p99';
}

const tier = (underCost: number, overCost: number, headroom: number, small: number): TierPolicyEntry => ({
  underCost,
  overCost,
  quantile: newsvendorQuantile(underCost, overCost),
  headroom,
  defaultPeakRequestsPerSecond: { small, medium: small * 10, large: small * 100 },
});

/**
 * Per tier: free provisions the median (a shortfall costs as much as idle capacity), pro p90
 * (9:1) × 1.2, enterprise p99 (99:1) × 1.3. Default peaks per account size: 1 / 10 / 100 req/s on
 * free, ×10 on pro, ×100 on enterprise.
 */
export const TierPolicy: Record<Tier, TierPolicyEntry> = {
  free: tier(1, 1, 1.0, 1),
  pro: tier(9, 1, 1.2, 10),
  enterprise: tier(99, 1, 1.3, 100),
};

/** Region slugs name shards `<slug>.<domain>`; this is their longest length (a contract constant). */
export const MAX_REGION_SLUG_LENGTH = 20;
