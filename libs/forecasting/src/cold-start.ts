import { applyCalibration, WideRelativeCalibration } from './conformal-calibration';
import { AppType, Tier } from './domain-profile';
import { DemandForecast } from './demand-forecast';
import { DAY_MS, DemandSeries, HOUR_MS } from './series';

/**
 * Typical requests per second by tier, and the shape of the day by app type (peak hour UTC and the
 * day's swing as a share of the mean). A prior to start from, replaced by the series' own model once
 * it has enough history for a backtest.
 */
export const ColdStartPrior = {
  meanRequestsPerSecond: { free: 0.5, pro: 5, enterprise: 50 } as Record<Tier, number>,
  appTypeFactor: { static: 2, api: 1, ssr: 0.5, streaming: 0.2, websocket: 0.1 } as Record<AppType, number>,
  diurnal: {
    static: { peakHourUtc: 18, swing: 0.5 },
    api: { peakHourUtc: 15, swing: 0.6 },
    ssr: { peakHourUtc: 18, swing: 0.5 },
    streaming: { peakHourUtc: 20, swing: 0.8 },
    websocket: { peakHourUtc: 16, swing: 0.4 },
  } as Record<AppType, { peakHourUtc: number; swing: number }>,
};

export interface ColdStartInput {
  appType: AppType;
  tier: Tier;
  /** Epoch ms of the first step to forecast. */
  startMs: number;
  stepMs: number;
  horizon: number;
  /** Whatever little history there is: its mean level replaces the prior's, in proportion to how much there is. */
  history?: DemandSeries;
}

/**
 * Forecast for a domain without enough history: a daily cosine around a level from its tier and
 * app type, with wide relative intervals, `confidence: 'low'` and `forecastOnly`.
 */
export function coldStartForecast(input: ColdStartInput): DemandForecast {
  const { appType, tier, startMs, stepMs, horizon } = input;
  const priorPerStep = ColdStartPrior.meanRequestsPerSecond[tier] * ColdStartPrior.appTypeFactor[appType] * (stepMs / 1000);
  const observed = (input.history?.values ?? []).filter((v) => Number.isFinite(v) && v >= 0);
  // A day of observed steps counts as much as the prior.
  const weight = observed.length / (observed.length + Math.max(1, DAY_MS / stepMs));
  const observedMean = observed.length > 0 ? observed.reduce((a, b) => a + b, 0) / observed.length : 0;
  const level = priorPerStep * (1 - weight) + observedMean * weight;
  const { peakHourUtc, swing } = ColdStartPrior.diurnal[appType];
  const point = Float64Array.from({ length: horizon }, (_, h) => {
    const hourOfDay = (((startMs + h * stepMs) % DAY_MS) + DAY_MS) % DAY_MS / HOUR_MS;
    return level * (1 + swing * Math.cos((2 * Math.PI * (hourOfDay - peakHourUtc)) / 24));
  });
  return {
    startMs,
    stepMs,
    horizon,
    quantiles: applyCalibration(point, WideRelativeCalibration),
    point,
    model: 'cold-start',
    selectedModel: 'cold-start',
    fallbackErrors: [],
    mase: null,
    selectedAt: null,
    confidence: 'low',
    forecastOnly: true,
  };
}
