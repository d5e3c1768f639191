export declare const AppTypes: readonly ["static", "api", "ssr", "streaming", "websocket"];
export type AppType = (typeof AppTypes)[number];
export declare const Tiers: readonly ["free", "pro", "enterprise"];
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
export declare const DefaultRequestCost: Record<AppType, RequestCost>;
/** The tier sets the quantile provisioned for and the headroom on top of it. */
export declare const TierPolicy: Record<Tier, {
    quantile: 'p50' | 'p90' | 'p99';
    headroom: number;
}>;
/** Observed per-request telemetry for a domain, where the ingest service has it. */
export interface ObservedRequestStats {
    requests: number;
    meanBytesOut?: number;
    meanLatencyMs?: number;
    meanCpuMs?: number;
}
export declare function defaultProfile(appType: AppType, tier: Tier): DomainProfile;
/**
 * Replaces defaults by observed means where there are enough requests to trust them; between
 * `minRequests` and 10× that, the observed value is blended in proportionally.
 */
export declare function learnProfile(base: DomainProfile, observed: ObservedRequestStats, minRequests?: number): DomainProfile;
