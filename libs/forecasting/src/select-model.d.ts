import { CandidateName, ModelResolution } from './candidate-models';
import { Calibration } from './conformal-calibration';
import { ModelRunner } from './model-task';
import { Aggregation, DemandSeries, RegularSeries } from './series';
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
/** The outcome of the scheduled model-selection job for one series; the service stores it. */
export interface ModelSelection {
    /** The model the production path fits. */
    model: CandidateName | 'naive';
    /** The chosen model's backtest MASE; null when the history was too short to backtest. */
    mase: number | null;
    /** The seasonal-naive baseline picked by the same backtest, and its MASE. */
    baseline: 'snaive-daily' | 'snaive-weekly' | 'naive';
    baselineMase: number | null;
    /** Accuracy gate: worse than seasonal naive (or no backtest): publish for information only. */
    forecastOnly: boolean;
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
export declare function prepareSeries(series: DemandSeries, options?: SeriesOptions): PreparedSeries;
/**
 * Scheduled job: picks the candidate with the lowest rolling-origin MASE and calibrates its
 * intervals on its own backtest residuals. Uses only the history given (no look-ahead).
 * A series too short to backtest gets seasonal naive (or the last value) with wide intervals and
 * `confidence: 'low'`.
 */
export declare function selectModel(series: DemandSeries, options: SelectionOptions, runner: ModelRunner): Promise<ModelSelection>;
