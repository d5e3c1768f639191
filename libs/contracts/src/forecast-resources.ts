import { z } from 'zod';
import type { DemandForecast } from './demand-forecast';
import { QuantileLevel, TierPolicy } from './domain-policy';
import type { RequestCostSchema } from './domain-registered';

export const ResourceNeedSchema = z.object({
  cpuCores: z.number().nonnegative(),
  memoryGiB: z.number().nonnegative(),
  egressMbps: z.number().nonnegative(),
});
export type ResourceNeed = z.infer<typeof ResourceNeedSchema>;
export type RequestCost = Required<z.infer<typeof RequestCostSchema>>;

/** Resources for a request rate (requests per second): CPU, memory by Little's law, egress. */
export function resourcesForRate(ratePerSecond: number, cost: RequestCost): ResourceNeed {
  const rate = Math.max(0, ratePerSecond);
  const concurrency = rate * (cost.latencyMs / 1000);
  return {
    cpuCores: (rate * cost.cpuMs) / 1000,
    memoryGiB: (concurrency * cost.memoryMbPerConcurrent) / 1024,
    egressMbps: (rate * cost.bytesOut * 8) / 1e6,
  };
}

/** Epoch ms at which step `step` of a forecast starts. */
export function forecastStepStartMs(f: Pick<DemandForecast, 'startAt' | 'stepSeconds'>, step: number): number {
  return Date.parse(f.startAt) + step * f.stepSeconds * 1000;
}

/** Forecast requests per second in step `step` at a quantile (default: the tier's). */
export function forecastRate(f: Pick<DemandForecast, 'requests' | 'unit' | 'stepSeconds' | 'provisionQuantile'>, step: number, level: QuantileLevel = f.provisionQuantile): number {
  return (f.requests[level][step] * f.unit) / f.stepSeconds;
}

/**
 * Resources a forecast asks for in one step. At the tier's quantile (the default) the tier's
 * headroom is applied (TierPolicy): that is what to provision; at another quantile, the bare need.
 */
export function forecastResources(f: DemandForecast, step: number, level: QuantileLevel = f.provisionQuantile): ResourceNeed {
  const need = resourcesForRate(forecastRate(f, step, level), f.requestCost);
  const headroom = level === f.provisionQuantile ? TierPolicy[f.tier].headroom : 1;
  return { cpuCores: need.cpuCores * headroom, memoryGiB: need.memoryGiB * headroom, egressMbps: need.egressMbps * headroom };
}
