import { CandidateName, describe, forecastCandidates } from './candidate-models';
import { PriorInput, priorForecast } from './prior';
import { applyCalibration, Calibration, WideRelativeCalibration } from './conformal-calibration';
import { ModelRunner } from './model-task';
import { seasonPeriods } from './season-periods';
import { ModelSelection, prepareSeries, SeriesOptions } from './select-model';
import { DemandSeries, tail } from './series';
import { DemandForecast } from './demand-forecast';

export type { DemandForecast } from './demand-forecast';


export type ForecastOptions = Pick<SeriesOptions, 'aggregation' | 'trainingWindowMs' | 'minTrainingPoints' | 'resolution'> & {
  /** Steps to forecast (default: the selection's horizon; the last calibration bucket covers the rest). */
  horizon?: number;
  /**
   * The registration's prior (app type, expected peak in this region, local time, borrowed shape):
   * until a backtest has selected a model (too little history), the forecast is the prior moved
   * towards the history by how much of it there is (`priorForecast`). `startMs` is where an empty
   * series' forecast starts.
   */
  prior?: PriorInput & { startMs?: number };
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
  const startMs = grid.values.length > 0 ? grid.startMs + grid.values.length * stepMs : (options.prior?.startMs ?? NaN);
  if (options.prior && Number.isFinite(startMs) && (grid.values.length === 0 || selection.mase === null)) {
    return priorForecast(options.prior, { startMs, stepMs, horizon }, grid);
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
      forecastOnly: selection.forecastOnly,
      priorWeight: 0,
    };
  }
  throw new Error(`FORECAST_NO_HISTORY: no model could forecast (${errors.map(describe).join('; ')})`);
}
