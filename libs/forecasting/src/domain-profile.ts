import { AppType, AppTypes, RequestCost, Tier, Tiers } from '@shardcast/contracts';

export { AppTypes, Tiers };
export type { AppType, Tier, RequestCost };

/** What a domain is and what it pays for: the resource model's input beside the forecast. */
export interface DomainProfile extends RequestCost {
  appType: AppType;
  tier: Tier;
}

/**
 * Starting points per app type, meant to be replaced by learned values (`learnProfile`). Orders of
 * magnitude, not measurements: a server-rendered web app, a JSON API call, a database query, a
 * CDN-style static file, a server-rendered page, a media segment stream and a long-lived socket.
 */
export const DefaultRequestCost: Record<AppType, RequestCost> = {
  webapp: { cpuMs: 20, memoryMbPerConcurrent: 16, bytesOut: 60_000, latencyMs: 150 },
  api: { cpuMs: 8, memoryMbPerConcurrent: 4, bytesOut: 4_000, latencyMs: 80 },
  database: { cpuMs: 5, memoryMbPerConcurrent: 8, bytesOut: 2_000, latencyMs: 10 },
  static: { cpuMs: 0.5, memoryMbPerConcurrent: 0.5, bytesOut: 60_000, latencyMs: 20 },
  ssr: { cpuMs: 40, memoryMbPerConcurrent: 32, bytesOut: 120_000, latencyMs: 250 },
  streaming: { cpuMs: 4, memoryMbPerConcurrent: 2, bytesOut: 1_500_000, latencyMs: 4_000 },
  websocket: { cpuMs: 1, memoryMbPerConcurrent: 0.25, bytesOut: 2_000, latencyMs: 300_000 },
};

/** Observed per-request telemetry for a domain, where the ingest service has it. */
export interface ObservedRequestStats {
  requests: number;
  meanBytesOut?: number;
  meanLatencyMs?: number;
  meanCpuMs?: number;
}

/** The per-request cost part of a profile (what a forecast event carries and the allocator sizes by). */
export function requestCostOf(profile: DomainProfile): RequestCost {
  return { cpuMs: profile.cpuMs, memoryMbPerConcurrent: profile.memoryMbPerConcurrent, bytesOut: profile.bytesOut, latencyMs: profile.latencyMs };
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
