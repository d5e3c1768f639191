import { CandidateName, ModelResolution } from './candidate-models';
import { ModelRunner } from './model-task';
import { RegularSeries } from './series';
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
export declare function defaultSpacing(stepMs: number, horizon: number): number;
/** Rolling-origin origins, latest last: each leaves a full horizon of known values after it. */
export declare function rollingOrigins(length: number, horizon: number, count: number, spacing: number, minTraining: number): number[];
/**
 * Rolling-origin backtest of several candidates on one series. All origins are fitted
 * concurrently (the runner queues them), base models shared by ensembles are fitted once per origin.
 */
export declare function backtest(series: RegularSeries, candidates: readonly CandidateName[], options: BacktestOptions, runner: ModelRunner): Promise<BacktestResult>;
