"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.TierPolicy = exports.DefaultRequestCost = exports.Tiers = exports.AppTypes = void 0;
exports.defaultProfile = defaultProfile;
exports.learnProfile = learnProfile;
exports.AppTypes = ['static', 'api', 'ssr', 'streaming', 'websocket'];
exports.Tiers = ['free', 'pro', 'enterprise'];
/**
 * Starting points per app type, meant to be replaced by learned values (`learnProfile`). Orders of
 * magnitude, not measurements: a CDN-style static file, a JSON API call, a server-rendered page, a
 * media segment stream and a long-lived socket.
 */
exports.DefaultRequestCost = {
    static: { cpuMs: 0.5, memoryMbPerConcurrent: 0.5, bytesOut: 60_000, latencyMs: 20 },
    api: { cpuMs: 8, memoryMbPerConcurrent: 4, bytesOut: 4_000, latencyMs: 80 },
    ssr: { cpuMs: 40, memoryMbPerConcurrent: 32, bytesOut: 120_000, latencyMs: 250 },
    streaming: { cpuMs: 4, memoryMbPerConcurrent: 2, bytesOut: 1_500_000, latencyMs: 4_000 },
    websocket: { cpuMs: 1, memoryMbPerConcurrent: 0.25, bytesOut: 2_000, latencyMs: 300_000 },
};
/** The tier sets the quantile provisioned for and the headroom on top of it. */
exports.TierPolicy = {
    free: { quantile: 'p50', headroom: 1.0 },
    pro: { quantile: 'p90', headroom: 1.2 },
    enterprise: { quantile: 'p99', headroom: 1.3 },
};
function defaultProfile(appType, tier) {
    return { appType, tier, ...exports.DefaultRequestCost[appType] };
}
/**
 * Replaces defaults by observed means where there are enough requests to trust them; between
 * `minRequests` and 10× that, the observed value is blended in proportionally.
 */
function learnProfile(base, observed, minRequests = 100) {
    const weight = observed.requests < minRequests ? 0 : Math.min(1, observed.requests / (10 * minRequests));
    const blend = (prior, seen) => seen === undefined || !Number.isFinite(seen) || seen < 0 ? prior : prior * (1 - weight) + seen * weight;
    return {
        ...base,
        bytesOut: blend(base.bytesOut, observed.meanBytesOut),
        latencyMs: blend(base.latencyMs, observed.meanLatencyMs),
        cpuMs: blend(base.cpuMs, observed.meanCpuMs),
    };
}
//# sourceMappingURL=domain-profile.js.map