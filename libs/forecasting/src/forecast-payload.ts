import { DemandForecast as DemandForecastPayload, ForecastReasons, QuantileLevels, TierPolicy } from '@shardcast/contracts';
import { DemandForecast } from './demand-forecast';
import { DomainProfile, requestCostOf } from './domain-profile';
import type { ModelSelection } from './select-model';

const iso = (ms: number) => new Date(ms).toISOString();
/** The largest count a compact forecast carries: 3 digits keep 576 steps × 6 quantiles under 16 KB. */
export const MAX_FORECAST_COUNT = 999;

/** The smallest power of ten (10^-6 at least) that keeps `max / unit` at most MAX_FORECAST_COUNT. */
export function forecastUnit(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  // Start at 10^-6 or above: for a subnormal max, max / 999 underflows to 0, log10 gives -Infinity,
  // and -Infinity + 1 never grows (this loop once spun forever on 1.83e-321).
  let k = Math.max(-6, Math.ceil(Math.log10(max / MAX_FORECAST_COUNT)));
  while (max / 10 ** k > MAX_FORECAST_COUNT) k++;
  while (k > -6 && max / 10 ** (k - 1) <= MAX_FORECAST_COUNT) k--;
  return Number((10 ** k).toPrecision(1));
}

/**
 * The compact `demand.forecast.v1` payload for one (domain, region): one integer array per
 * quantile in units of `unit` (a power of ten with the largest count ≤ 999, rounded so levels stay
 * monotone), the model and its backtest score, the tier and the per-request cost consumers derive
 * resources from (`forecastResources` in @shardcast/contracts).
 */
export function toForecastPayload(
  key: { domain: string; region: string },
  forecast: DemandForecast,
  selection: Pick<ModelSelection, 'baselineMase'> | null,
  profile: DomainProfile,
  generatedAt: Date,
  reason: (typeof ForecastReasons)[number],
): DemandForecastPayload {
  const p99 = forecast.quantiles.p99;
  let max = forecast.horizon > 0 ? -Infinity : 0;
  for (let h = 0; h < forecast.horizon; h++) max = Math.max(max, p99[h]);
  const unit = forecastUnit(max);
  // Plain loops over the levels' arrays (this runs for every series of a pass, tens of thousands).
  const from = QuantileLevels.map((q) => forecast.quantiles[q]);
  const to = QuantileLevels.map(() => new Array<number>(forecast.horizon).fill(0));
  for (let h = 0; h < forecast.horizon; h++) {
    let below = 0;
    for (let l = 0; l < from.length; l++) {
      const v = Math.max(below, Math.round(Math.max(0, from[l][h]) / unit));
      to[l][h] = v;
      below = v;
    }
  }
  const requests = Object.fromEntries(QuantileLevels.map((q, l) => [q, to[l]])) as DemandForecastPayload['requests'];
  return {
    kind: 'forecast',
    domain: key.domain,
    region: key.region,
    generatedAt: generatedAt.toISOString(),
    startAt: iso(forecast.startMs),
    stepSeconds: Math.round(forecast.stepMs / 1000),
    steps: forecast.horizon,
    unit,
    requests,
    model: {
      name: forecast.model,
      selected: forecast.selectedModel,
      mase: finite(forecast.mase),
      baselineMase: finite(selection?.baselineMase ?? null),
      selectedAt: forecast.selectedAt,
    },
    confidence: forecast.confidence,
    forecastOnly: forecast.forecastOnly,
    priorWeight: Math.round(forecast.priorWeight * 1000) / 1000,
    tier: profile.tier,
    provisionQuantile: TierPolicy[profile.tier].quantile,
    requestCost: requestCostOf(profile),
    reason,
  };
}

function finite(v: number | null): number | null {
  return v !== null && Number.isFinite(v) ? v : null;
}

/**
 * Whether a new forecast says something the last published one did not: the tier, quantile or
 * prior share changed, or at the provisioned quantile some step both cover moved by more than
 * `threshold` of the previous forecast's peak there (rates per second, so a step-size change
 * compares like with like). A new forecast covering no step of the old one has moved.
 */
export function forecastMoved(previous: DemandForecastPayload, next: DemandForecastPayload, threshold: number): boolean {
  if (previous.tier !== next.tier || previous.provisionQuantile !== next.provisionQuantile || previous.stepSeconds !== next.stepSeconds) return true;
  if (Math.abs(previous.priorWeight - next.priorWeight) > threshold) return true;
  const q = next.provisionQuantile;
  const offset = Math.round((Date.parse(next.startAt) - Date.parse(previous.startAt)) / (previous.stepSeconds * 1000));
  let peak = 0;
  for (const v of previous.requests[q]) peak = Math.max(peak, v * previous.unit);
  let overlap = 0;
  for (let i = 0; i < next.steps; i++) {
    const j = i + offset;
    if (j < 0 || j >= previous.steps) continue;
    overlap++;
    if (Math.abs(next.requests[q][i] * next.unit - previous.requests[q][j] * previous.unit) > threshold * Math.max(peak, previous.unit)) return true;
  }
  return overlap === 0;
}
