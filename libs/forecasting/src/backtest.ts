import { naiveScale } from './accuracy';
import { CandidateName, forecastCandidates, ModelResolution } from './candidate-models';
import { ModelRunner } from './model-task';
import { scalePeriod, seasonPeriods } from './season-periods';
import { head, RegularSeries, tail } from './series';

export interface BacktestOptions {
  /** Steps forecast from each origin. */
  horizon: number;
  /** Number of rolling origins (default 16). */
  origins?: number;
  /** Steps between origins (default: one day, or the horizon if shorter; 7 steps for daily data). */
  spacing?: number;
  /** At most this many values before an origin are used to fit (bounded training window). */
  windowPoints: number;
  /** Origins with less history than this are skipped (default two seasonal-naive scale periods, at least 24 values). */
  minTrainingPoints?: number;
  resolution?: ModelResolution;
}

export interface CandidateBacktest {
  /** MAE over all origins and steps divided by `BacktestResult.scale`; Infinity if it failed at any origin. */
  mase: number;
  mae: number;
  failures: number;
  errors: string[];
  /** actual − point, per origin and step (NaN where the step was not observed); empty if it failed. */
  residuals: Float64Array[];
  /** The point forecasts behind `residuals`, origin by origin. */
  points: Float64Array[];
}

export interface BacktestResult {
  /** Origin indices into the series: each forecast sees only values before its origin. */
  origins: number[];
  /** MASE denominator: in-sample MAE of seasonal naive (daily; weekly for daily data) over the whole history given. */
  scale: number;
  candidates: Map<CandidateName, CandidateBacktest>;
}

/** One origin per day (or per horizon if shorter), so calibration sees every hour of the day equally; weekly for daily data. */
export function defaultSpacing(stepMs: number, horizon: number): number {
  const perDay = seasonPeriods(stepMs).daily ?? 1;
  return Math.max(1, Math.min(horizon, perDay >= 2 ? perDay : 7));
}

/** Rolling-origin origins, latest last: each leaves a full horizon of known values after it. */
export function rollingOrigins(length: number, horizon: number, count: number, spacing: number, minTraining: number): number[] {
  const origins: number[] = [];
  for (let k = 0; k < count; k++) {
    const o = length - horizon - k * spacing;
    if (o < Math.max(1, minTraining)) break;
    origins.unshift(o);
  }
  return origins;
}

/**
 * Rolling-origin backtest of several candidates on one series. All origins are fitted
 * concurrently (the runner queues them), base models shared by ensembles are fitted once per origin.
 */
export async function backtest(
  series: RegularSeries,
  candidates: readonly CandidateName[],
  options: BacktestOptions,
  runner: ModelRunner,
): Promise<BacktestResult> {
  const { horizon } = options;
  const periods = seasonPeriods(series.stepMs);
  const period = scalePeriod(series.stepMs);
  const origins = rollingOrigins(
    series.values.length,
    horizon,
    options.origins ?? 16,
    options.spacing ?? defaultSpacing(series.stepMs, horizon),
    options.minTrainingPoints ?? Math.max(2 * period, 24),
  );
  const outcomes = await Promise.all(
    origins.map((o) => {
      const known = tail(head(series, o), options.windowPoints);
      return forecastCandidates(candidates, { y: known.values, startMs: known.startMs, stepMs: series.stepMs, horizon, periods }, runner, options.resolution);
    }),
  );
  const scale = naiveScale(series.values, period);
  const result = new Map<CandidateName, CandidateBacktest>();
  for (const name of candidates) {
    const entry: CandidateBacktest = { mase: Infinity, mae: Infinity, failures: 0, errors: [], residuals: [], points: [] };
    let sum = 0;
    let n = 0;
    outcomes.forEach((byName, i) => {
      const outcome = byName.get(name)!;
      if (!outcome.ok) {
        entry.failures++;
        entry.errors.push(outcome.error);
        return;
      }
      const o = origins[i];
      const r = new Float64Array(horizon);
      for (let h = 0; h < horizon; h++) {
        const seen = series.observed ? series.observed[o + h] === 1 : true;
        r[h] = seen ? series.values[o + h] - outcome.point[h] : NaN;
        if (seen) {
          sum += Math.abs(r[h]);
          n++;
        }
      }
      entry.residuals.push(r);
      entry.points.push(outcome.point);
    });
    if (entry.failures === 0 && n > 0) {
      entry.mae = sum / n;
      entry.mase = entry.mae / scale;
    }
    result.set(name, entry);
  }
  return { origins, scale, candidates: result };
}
