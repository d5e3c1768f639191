import { QuantileKey, QuantileKeys } from './conformal-calibration';
import { DomainProfile, TierPolicy } from './domain-profile';
import { DemandForecast } from './demand-forecast';

export interface ResourceNeed {
  cpuCores: number;
  memoryGiB: number;
  egressMbps: number;
}

export interface StepResourceNeeds {
  /** Epoch ms of the step. */
  at: number;
  /** At the tier's quantile, times the tier's headroom. */
  provisioned: ResourceNeed;
  byQuantile: Record<QuantileKey, ResourceNeed>;
}

/** Resources for a request rate (requests per second). */
export function resourcesForRate(ratePerSecond: number, profile: DomainProfile): ResourceNeed {
  const rate = Math.max(0, ratePerSecond);
  const concurrency = rate * (profile.latencyMs / 1000);
  return {
    cpuCores: (rate * profile.cpuMs) / 1000,
    memoryGiB: (concurrency * profile.memoryMbPerConcurrent) / 1024,
    egressMbps: (rate * profile.bytesOut * 8) / 1e6,
  };
}

function scale(need: ResourceNeed, factor: number): ResourceNeed {
  return { cpuCores: need.cpuCores * factor, memoryGiB: need.memoryGiB * factor, egressMbps: need.egressMbps * factor };
}

/**
 * Resources per step for one region's demand forecast (values are requests per step). Pure: the
 * caller maps it over regions.
 */
export function resourceNeeds(forecast: Pick<DemandForecast, 'startMs' | 'stepMs' | 'horizon' | 'quantiles'>, profile: DomainProfile): StepResourceNeeds[] {
  const policy = TierPolicy[profile.tier];
  const perSecond = 1000 / forecast.stepMs;
  const out: StepResourceNeeds[] = [];
  for (let h = 0; h < forecast.horizon; h++) {
    const byQuantile = Object.fromEntries(
      QuantileKeys.map((k) => [k, resourcesForRate(forecast.quantiles[k][h] * perSecond, profile)]),
    ) as Record<QuantileKey, ResourceNeed>;
    out.push({ at: forecast.startMs + h * forecast.stepMs, provisioned: scale(byQuantile[policy.quantile], policy.headroom), byQuantile });
  }
  return out;
}
