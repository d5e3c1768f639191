export const AppTypes = ['static', 'api', 'ssr', 'streaming', 'websocket'] as const;
export type AppType = (typeof AppTypes)[number];
export const Tiers = ['free', 'pro', 'enterprise'] as const;
export type Tier = (typeof Tiers)[number];

/** What one request costs. */
export interface RequestCost {
  /** CPU time per request, ms. */
  cpuMs: number;
  /** Memory held per concurrent request, MB. */
  memoryMbPerConcurrent: number;
  /** Response bytes per request. */
  bytesOut: number;
  /** Time a request is in flight, ms (concurrency = rate × latency, Little's law). */
  latencyMs: number;
}

/** What a domain is and what it pays for: the resource model's input beside the forecast. */
export interface DomainProfile extends RequestCost {
  appType: AppType;
  tier: Tier;
}

/**
 * Starting points per app type, meant to be replaced by learned values (`learnProfile`). Orders of
 * magnitude, not measurements: a CDN-style static file, a JSON API call, a server-rendered page, a
 * media segment stream and a long-lived socket.
 */
export const DefaultRequestCost: Record<AppType, RequestCost> = {
  static: { cpuMs: 0.5, memoryMbPerConcurrent: 0.5, bytesOut: 60_000, latencyMs: 20 },
  api: { cpuMs: 8, memoryMbPerConcurrent: 4, bytesOut: 4_000, latencyMs: 80 },
  ssr: { cpuMs: 40, memoryMbPerConcurrent: 32, bytesOut: 120_000, latencyMs: 250 },
  streaming: { cpuMs: 4, memoryMbPerConcurrent: 2, bytesOut: 1_500_000, latencyMs: 4_000 },
  websocket: { cpuMs: 1, memoryMbPerConcurrent: 0.25, bytesOut: 2_000, latencyMs: 300_000 },
};

/** The tier sets the quantile provisioned for and the headroom on top of it. */
export const TierPolicy: Record<Tier, { quantile: 'p50' | 'p90' | 'p99'; headroom: number }> = {
  free: { quantile: 'p50', headroom: 1.0 },
  pro: { quantile: 'p90', headroom: 1.2 },
  enterprise: { quantile: 'p99', headroom: 1.3 },
};

/** Observed per-request telemetry for a domain, where the ingest service has it. */
export interface ObservedRequestStats {
  requests: number;
  meanBytesOut?: number;
  meanLatencyMs?: number;
  meanCpuMs?: number;
}

export function defaultProfile(appType: AppType, tier: Tier): DomainProfile {
  return { appType, tier, ...DefaultRequestCost[appType] };
}

/**
 * Replaces defaults by observed means where there are enough requests to trust them; between
 * `minRequests` and 10× that, the observed value is blended in proportionally.
 */
export function learnProfile(base: DomainProfile, observed: ObservedRequestStats, minRequests = 100): DomainProfile {
  const weight = observed.requests < minRequests ? 0 : Math.min(1, observed.requests / (10 * minRequests));
  const blend = (prior: number, seen: number | undefined): number =>
    seen === undefined || !Number.isFinite(seen) || seen < 0 ? prior : prior * (1 - weight) + seen * weight;
  return {
    ...base,
    bytesOut: blend(base.bytesOut, observed.meanBytesOut),
    latencyMs: blend(base.latencyMs, observed.meanLatencyMs),
    cpuMs: blend(base.cpuMs, observed.meanCpuMs),
  };
}
