import { backtest } from './backtest';
import { CandidateName, DefaultCandidates, ModelResolution } from './candidate-models';
import { calibrate, Calibration, WideRelativeCalibration } from './conformal-calibration';
import { ModelRunner } from './model-task';
import { seasonPeriods } from './season-periods';
import { Aggregation, DAY_MS, DemandSeries, HOUR_MS, inferStepMs, MINUTE_MS, regularize, RegularSeries } from './series';

/** How series are prepared and models compared; shared by `selectModel` and `forecast`. */
export interface SeriesOptions {
  /** Forecast step (default: 5 min, or the series' own step if coarser). Use 1 h for long horizons. */
  stepMs?: number;
  /** Steps to forecast (default 48 h at the step). */
  horizon?: number;
  /** `sum` for counts per step (default), `mean` for gauges such as CPU %. */
  aggregation?: Aggregation;
  /** Bounded training window (default 28 days, and at least `minTrainingPoints` values). */
  trainingWindowMs?: number;
  /** Default 112 values (16 weeks of daily data). */
  minTrainingPoints?: number;
  resolution?: ModelResolution;
}

export interface SelectionOptions extends SeriesOptions {
  /** Rolling origins in the backtest (default 16). */
  origins?: number;
  /** Steps between origins (default one day, or the horizon if shorter; 7 steps for daily data). */
  originSpacing?: number;
  candidates?: readonly CandidateName[];
  /** Stamped into the selection; pass the job's clock (the lib never reads the wall clock itself). */
  now: Date;
}

/** The proactive gate's verdict on a selection (decision 0034). */
export interface ProactiveGateVerdict {
  days: number;
  proactive: boolean;
  reason: string;
  reduction: number | null;
  costRatio: number;
  /**
   * `selectedAt` of the selection the replay ran on. A re-selection keeps its predecessor's verdict
   * until its own replay is stored (then this is older than its `selectedAt`); absent on verdicts
   * stored before it was recorded, which are replayed again.
   */
  of?: string;
}

/** The accuracy gate alone: the selected model did worse than seasonal naive in backtest (MASE > 1, or above the baseline's). */
export function worseThanSeasonalNaive(selection: Pick<ModelSelection, 'mase' | 'baselineMase'>): boolean {
  const { mase, baselineMase } = selection;
  // MASE > 1: out of sample worse than seasonal naive is in sample (the scale's own yardstick).
  return mase !== null && (mase > 1 || (baselineMase !== null && mase > baselineMase));
}

/** The selection with a proactive gate's verdict: `forecastOnly` when either gate is closed. */
export function withProactiveGate(selection: ModelSelection, gate: ProactiveGateVerdict): ModelSelection {
  return { ...selection, gate, forecastOnly: worseThanSeasonalNaive(selection) || !gate.proactive };
}

/** The outcome of the scheduled model-selection job for one series; the service stores it. */
export interface ModelSelection {
  /** The model the production path fits. */
  model: CandidateName | 'naive';
  /** The chosen model's backtest MASE; null when the history was too short to backtest. */
  mase: number | null;
  /** The seasonal-naive baseline picked by the same backtest, and its MASE. */
  baseline: 'snaive-daily' | 'snaive-weekly' | 'naive';
  baselineMase: number | null;
  /** Accuracy gate: worse than seasonal naive (or no backtest), or the proactive gate closed (`gate`): publish for information only. */
  forecastOnly: boolean;
  /**
   * The proactive gate's verdict when the forecaster ran it (decision 0034): the allocation policy
   * replayed on the last `days` of history against the reactive policy; closed → `forecastOnly`.
   */
  gate?: ProactiveGateVerdict;
  confidence: 'high' | 'low';
  /** ISO-8601 time of selection. */
  selectedAt: string;
  stepMs: number;
  horizon: number;
  /** Eligible candidates ranked by MASE after the chosen one: the production path's fallbacks. */
  fallbacks: CandidateName[];
  /** Conformal calibration per eligible candidate, from its own backtest residuals. */
  calibrations: Partial<Record<CandidateName | 'naive', Calibration>>;
  /** Backtest MASE per candidate (null: failed at some origin). */
  scores: Partial<Record<CandidateName, number | null>>;
  /** Origins in the backtest. */
  origins: number;
}

export interface PreparedSeries {
  grid: RegularSeries;
  stepMs: number;
  horizon: number;
  windowPoints: number;
}

/** Regularizes and gap-fills a raw series the way both the selection job and the production path do. */
export function prepareSeries(series: DemandSeries, options: SeriesOptions = {}): PreparedSeries {
  const nativeStepMs = inferStepMs(series.timestamps);
  const stepMs = options.stepMs ?? Math.max(nativeStepMs, 5 * MINUTE_MS);
  const grid = regularize(series, stepMs, {
    aggregation: options.aggregation,
    nativeStepMs,
    seasonPeriod: seasonPeriods(stepMs).daily,
  });
  const horizon = options.horizon ?? Math.max(1, Math.round((48 * HOUR_MS) / stepMs));
  const windowPoints = Math.max(options.minTrainingPoints ?? 112, Math.round((options.trainingWindowMs ?? 28 * DAY_MS) / stepMs));
  return { grid, stepMs, horizon, windowPoints };
}

/** Backtest origins below which a selection's intervals are the wide ones of a series with no backtest, and its confidence low. */
export const MIN_CALIBRATION_ORIGINS = 3;

/**
 * Scheduled job: picks the candidate with the lowest rolling-origin MASE and calibrates its
 * intervals on its own backtest residuals (with `MIN_CALIBRATION_ORIGINS` origins or more; fewer
 * keep the choice and take wide intervals). Uses only the history given (no look-ahead).
 * A series too short to backtest gets seasonal naive (or the last value) with wide intervals and
 * `confidence: 'low'`.
 */
export async function selectModel(series: DemandSeries, options: SelectionOptions, runner: ModelRunner): Promise<ModelSelection> {
  const { grid, stepMs, horizon, windowPoints } = prepareSeries(series, options);
  const candidates = options.candidates ?? DefaultCandidates;
  const result = await backtest(
    grid,
    [...new Set<CandidateName>([...candidates, 'snaive-daily', 'snaive-weekly'])],
    { horizon, origins: options.origins, spacing: options.originSpacing, windowPoints, resolution: options.resolution },
    runner,
  );
  const selectedAt = options.now.toISOString();
  const scores: ModelSelection['scores'] = {};
  for (const [name, r] of result.candidates) scores[name] = Number.isFinite(r.mase) ? r.mase : null;

  const ranked = [...result.candidates.entries()]
    .filter(([name, r]) => candidates.includes(name) && Number.isFinite(r.mase))
    .sort((a, b) => a[1].mase - b[1].mase);
  const naives = (['snaive-daily', 'snaive-weekly'] as const)
    .map((n) => [n, result.candidates.get(n)!.mase] as const)
    .filter(([, m]) => Number.isFinite(m))
    .sort((a, b) => a[1] - b[1]);

  if (ranked.length === 0) {
    const periods = seasonPeriods(stepMs);
    const model = periods.daily && periods.daily >= 2 && grid.values.length >= periods.daily ? 'snaive-daily' : 'naive';
    return {
      model,
      mase: null,
      baseline: model,
      baselineMase: null,
      // Nothing proved it worse than seasonal naive: forecastOnly keeps that one meaning.
      forecastOnly: false,
      confidence: 'low',
      selectedAt,
      stepMs,
      horizon,
      fallbacks: [],
      calibrations: { [model]: WideRelativeCalibration },
      scores,
      origins: result.origins.length,
    };
  }
  const [model, best] = ranked[0];
  const baseline = naives[0]?.[0] ?? 'naive';
  const baselineMase = naives[0]?.[1] ?? null;
  const calibrations: ModelSelection['calibrations'] = {};
  // Residuals of one or two origins are one or two days' errors, serially correlated, not a
  // sample of them: an interval from them covered 14 % at 90 % on a 4-day series (decision 0006).
  const calibrated = result.origins.length >= MIN_CALIBRATION_ORIGINS;
  for (const [name, r] of ranked) calibrations[name] = calibrated ? calibrate(r.residuals, { points: r.points }) : WideRelativeCalibration;
  return {
    model,
    mase: best.mase,
    baseline,
    baselineMase,
    forecastOnly: worseThanSeasonalNaive({ mase: best.mase, baselineMase }),
    confidence: calibrated ? 'high' : 'low',
    selectedAt,
    stepMs,
    horizon,
    fallbacks: ranked.slice(1).map(([name]) => name),
    calibrations,
    scores,
    origins: result.origins.length,
  };
}
