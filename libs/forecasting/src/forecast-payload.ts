import type { DemandForecast as DemandForecastPayload } from '@shardcast/contracts';
import { QuantileKeys } from './conformal-calibration';
import { DemandForecast } from './demand-forecast';
import { DomainProfile, TierPolicy } from './domain-profile';
import { resourceNeeds } from './resource-needs';
import type { ModelSelection } from './select-model';

const iso = (ms: number) => new Date(ms).toISOString();
const round = (v: number, digits = 4) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * The `demand.forecast.v1` payload for one (domain, region): quantiles per step, the model and
 * its backtest score, and the resources needed at each quantile and at the tier's quantile.
 */
export function toForecastPayload(
  key: { domain: string; region: string },
  forecast: DemandForecast,
  selection: Pick<ModelSelection, 'baselineMase'> | null,
  profile: DomainProfile,
  generatedAt: Date,
): DemandForecastPayload {
  const needs = resourceNeeds(forecast, profile);
  const need = (n: { cpuCores: number; memoryGiB: number; egressMbps: number }) => ({
    cpuCores: round(n.cpuCores),
    memoryGiB: round(n.memoryGiB),
    egressMbps: round(n.egressMbps),
  });
  return {
    domain: key.domain,
    region: key.region,
    generatedAt: generatedAt.toISOString(),
    stepSeconds: Math.round(forecast.stepMs / 1000),
    steps: Array.from({ length: forecast.horizon }, (_, h) => ({
      at: iso(forecast.startMs + h * forecast.stepMs),
      requests: Object.fromEntries(QuantileKeys.map((k) => [k, round(forecast.quantiles[k][h], 3)])) as DemandForecastPayload['steps'][number]['requests'],
    })),
    model: {
      name: forecast.model,
      selected: forecast.selectedModel,
      mase: finite(forecast.mase),
      baselineMase: finite(selection?.baselineMase ?? null),
      selectedAt: forecast.selectedAt,
    },
    confidence: forecast.confidence,
    forecastOnly: forecast.forecastOnly,
    tier: profile.tier,
    provisionQuantile: TierPolicy[profile.tier].quantile,
    resources: needs.map((n) => ({
      at: iso(n.at),
      provisioned: need(n.provisioned),
      byQuantile: Object.fromEntries(QuantileKeys.map((k) => [k, need(n.byQuantile[k])])) as DemandForecastPayload['resources'][number]['byQuantile'],
    })),
  };
}

function finite(v: number | null): number | null {
  return v !== null && Number.isFinite(v) ? v : null;
}
