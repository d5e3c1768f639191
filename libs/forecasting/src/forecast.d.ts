import { AppType, Tier } from './domain-profile';
import { ModelRunner } from './model-task';
import { ModelSelection, SeriesOptions } from './select-model';
import { DemandSeries } from './series';
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
    coldStart?: {
        appType: AppType;
        tier: Tier;
        startMs?: number;
    };
};
/**
 * Production path: fits the selected model on the bounded recent window, predicts the horizon and
 * applies the selection's conformal calibration. On failure it falls back along the selection's
 * ranking, then to seasonal naive and the last value, which cannot fail on a non-empty series.
 */
export declare function forecast(series: DemandSeries, selection: ModelSelection, runner: ModelRunner, options?: ForecastOptions): Promise<DemandForecast>;
