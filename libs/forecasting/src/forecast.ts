import { CandidateName, describe, forecastCandidates } from './candidate-models';
import { coldStartForecast } from './cold-start';
import { AppType, Tier } from './domain-profile';
import { applyCalibration, Calibration, WideRelativeCalibration } from './conformal-calibration';
import { ModelRunner } from './model-task';
import { seasonPeriods } from './season-periods';
import { ModelSelection, prepareSeries, SeriesOptions } from './select-model';
import { DAY_MS, DemandSeries, tail } from './series';
import { DemandForecast } from './demand-forecast';

export type { DemandForecast } from './demand-forecast';


export type ForecastOptions = Pick<SeriesOptions, 'aggregation' | 'trainingWindowMs' | 'minTrainingPoints' | 'resolution'> & {
  /** Steps to forecast (default: the selection's horizon; the last calibration bucket covers the rest). */
  horizon?: number;
  /**
   * The domain's app type and tier: when the selection had no backtest (too little history), the
   * forecast is the cold-start prior, moved towards the little history there is. `startMs` is
   * where an empty series' forecast starts.
   */
  coldStart?: { appType: AppType; tier: Tier; startMs?: number };
};

/**
 * Production path: fits the selected model on the bounded recent window, predicts the horizon and
 * applies the selection's conformal calibration. On failure it falls back along the selection's
 * ranking, then to seasonal naive and the last value, which cannot fail on a non-empty series.
 */
export async function forecast(
  series: DemandSeries,
  selection: ModelSelection,
  runner: ModelRunner,
  options: ForecastOptions = {},
): Promise<DemandForecast> {
  const { grid, stepMs, windowPoints } = prepareSeries(series, { ...options, stepMs: selection.stepMs });
  const horizon = options.horizon ?? selection.horizon;
  const startMs = grid.values.length > 0 ? grid.startMs + grid.values.length * stepMs : (options.coldStart?.startMs ?? NaN);
  // The prior only stands in for a missing day: from one observed day on, the series' own level
  // (seasonal naive / last value, with wide intervals and low confidence) says more than the prior.
  const underADay = grid.values.length * stepMs < DAY_MS;
  if (options.coldStart && Number.isFinite(startMs) && (grid.values.length === 0 || (selection.mase === null && underADay))) {
    return coldStartForecast({ ...options.coldStart, startMs, stepMs, horizon, history: series });
  }
  const known = tail(grid, windowPoints);
  const chain = [...new Set<CandidateName | 'naive'>([selection.model, ...selection.fallbacks, 'snaive-daily', 'naive'])];
  const errors: string[] = [];
  const input = { y: known.values, startMs: known.startMs, stepMs, horizon, periods: seasonPeriods(stepMs) };
  for (const name of chain) {
    const outcome = (await forecastCandidates([name], input, runner, options.resolution)).get(name)!;
    if (!outcome.ok) {
      errors.push(`${name}: ${outcome.error}`);
      continue;
    }
    const own = selection.calibrations[name];
    const calibration: Calibration = own ?? selection.calibrations[selection.model] ?? WideRelativeCalibration;
    return {
      startMs,
      stepMs,
      horizon,
      quantiles: applyCalibration(outcome.point, calibration),
      point: outcome.point,
      model: name,
      selectedModel: selection.model,
      fallbackErrors: errors,
      mase: selection.mase,
      selectedAt: selection.selectedAt,
      confidence: own && errors.length === 0 ? selection.confidence : 'low',
      forecastOnly: selection.forecastOnly || errors.length > 0,
    };
  }
  throw new Error(`FORECAST_NO_HISTORY: no model could forecast (${errors.map(describe).join('; ')})`);
}
