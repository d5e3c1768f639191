import { CandidateName, describe, forecastCandidates } from './candidate-models';
import { applyCalibration, Calibration, QuantileForecast, WideRelativeCalibration } from './conformal-calibration';
import { ModelRunner } from './model-task';
import { seasonPeriods } from './season-periods';
import { ModelSelection, prepareSeries, SeriesOptions } from './select-model';
import { DemandSeries, tail } from './series';

/** A distribution of demand per step for one (domain, region): the production path's output. */
export interface DemandForecast {
  /** Epoch ms of the first forecast step; step i is at `startMs + i * stepMs`. */
  startMs: number;
  stepMs: number;
  horizon: number;
  /** Demand per step (same unit as the input values), non-negative and monotone across levels. */
  quantiles: QuantileForecast;
  /** The model that produced the point forecast (differs from `selectedModel` after a fallback). */
  model: CandidateName | 'naive' | 'cold-start';
  selectedModel: CandidateName | 'naive' | 'cold-start';
  /** Errors of the models tried before `model`, in order. */
  fallbackErrors: string[];
  mase: number | null;
  selectedAt: string | null;
  confidence: 'high' | 'low';
  forecastOnly: boolean;
}

export type ForecastOptions = Pick<SeriesOptions, 'aggregation' | 'trainingWindowMs' | 'minTrainingPoints' | 'resolution'> & {
  /** Steps to forecast (default: the selection's horizon; the last calibration bucket covers the rest). */
  horizon?: number;
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
  const startMs = grid.startMs + grid.values.length * stepMs;
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
