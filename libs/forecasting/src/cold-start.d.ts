import { AppType, Tier } from './domain-profile';
import { DemandForecast } from './demand-forecast';
import { DemandSeries } from './series';
/**
 * Typical requests per second by tier, and the shape of the day by app type (peak hour UTC and the
 * day's swing as a share of the mean). A prior to start from, replaced by the series' own model once
 * it has enough history for a backtest.
 */
export declare const ColdStartPrior: {
    meanRequestsPerSecond: Record<Tier, number>;
    appTypeFactor: Record<AppType, number>;
    diurnal: Record<AppType, {
        peakHourUtc: number;
        swing: number;
    }>;
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
export declare function coldStartForecast(input: ColdStartInput): DemandForecast;
