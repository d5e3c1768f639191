/** Seasonal periods in steps for a step size; `undefined` where the step does not fit the season. */
export interface SeasonPeriods {
    /** Steps per day (1 for daily data, undefined for coarser steps). */
    daily?: number;
    /** Steps per week. */
    weekly?: number;
}
export declare function seasonPeriods(stepMs: number): SeasonPeriods;
/**
 * The period used to scale MASE and pick the default naive forecast: daily, or weekly for daily data
 * (DECISIONS.md).
 */
export declare function scalePeriod(stepMs: number): number;
