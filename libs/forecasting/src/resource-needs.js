"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.resourcesForRate = resourcesForRate;
exports.resourceNeeds = resourceNeeds;
const conformal_calibration_1 = require("./conformal-calibration");
const domain_profile_1 = require("./domain-profile");
/** Resources for a request rate (requests per second). */
function resourcesForRate(ratePerSecond, profile) {
    const rate = Math.max(0, ratePerSecond);
    const concurrency = rate * (profile.latencyMs / 1000);
    return {
        cpuCores: (rate * profile.cpuMs) / 1000,
        memoryGiB: (concurrency * profile.memoryMbPerConcurrent) / 1024,
        egressMbps: (rate * profile.bytesOut * 8) / 1e6,
    };
}
function scale(need, factor) {
    return { cpuCores: need.cpuCores * factor, memoryGiB: need.memoryGiB * factor, egressMbps: need.egressMbps * factor };
}
/**
 * Resources per step for one region's demand forecast (values are requests per step). Pure: the
 * caller maps it over regions.
 */
function resourceNeeds(forecast, profile) {
    const policy = domain_profile_1.TierPolicy[profile.tier];
    const perSecond = 1000 / forecast.stepMs;
    const out = [];
    for (let h = 0; h < forecast.horizon; h++) {
        const byQuantile = Object.fromEntries(conformal_calibration_1.QuantileKeys.map((k) => [k, resourcesForRate(forecast.quantiles[k][h] * perSecond, profile)]));
        out.push({ at: forecast.startMs + h * forecast.stepMs, provisioned: scale(byQuantile[policy.quantile], policy.headroom), byQuantile });
    }
    return out;
}
//# sourceMappingURL=resource-needs.js.map