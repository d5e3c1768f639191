/** A demand series as received: epoch-millisecond timestamps and one value per timestamp. */
export interface DemandSeries {
    timestamps: readonly number[];
    values: readonly number[];
}
/** A series on a regular grid with no gaps: value i is at `startMs + i * stepMs`. */
export interface RegularSeries {
    startMs: number;
    stepMs: number;
    values: Float64Array;
    /** How many values were missing and filled (gap filling happens before any model sees the data). */
    filled: number;
    /** 1 where the step had at least one raw value, 0 where it was filled (evaluate only on observed steps). */
    observed?: Uint8Array;
}
export declare const MINUTE_MS = 60000;
export declare const HOUR_MS = 3600000;
export declare const DAY_MS = 86400000;
export declare const WEEK_MS: number;
/** How values combine when several raw points fall into one step: counts add up, gauges average. */
export type Aggregation = 'sum' | 'mean';
/** The series' native step: the median gap between consecutive distinct timestamps. */
export declare function inferStepMs(timestamps: readonly number[]): number;
/**
 * Resamples to a regular grid of `stepMs` anchored at the first timestamp (so series stamped at
 * :53 keep their phase) and fills gaps, because MSTL and Prophet reject NaN.
 *
 * Each grid value is the mean of the raw values in the step, times the number of native steps per
 * grid step for `sum` series (so a partly observed step is scaled up rather than under-counted).
 * Gaps are filled with the value one season earlier (`seasonPeriod` steps, when known and filled),
 * else by linear interpolation between the neighbours; a trailing gap repeats the last value.
 */
export declare function regularize(series: DemandSeries, stepMs: number, options?: {
    aggregation?: Aggregation;
    nativeStepMs?: number;
    seasonPeriod?: number;
    maxGapSteps?: number;
}): RegularSeries;
/** Fills NaN in place (see `regularize`); returns how many values were filled. */
export declare function fillGaps(values: Float64Array, seasonPeriod?: number): number;
/** The last `count` values (bounded training windows keep fits fast and recent). */
export declare function tail(series: RegularSeries, count: number): RegularSeries;
/** The first `count` values: the part of the series known at an origin. */
export declare function head(series: RegularSeries, count: number): RegularSeries;
/** Means of consecutive blocks of `factor` values, aligned so the last block ends at the last value. */
export declare function coarsen(values: Float64Array, factor: number): Float64Array;
/**
 * Inverse of `coarsen` for a forecast: block means placed at block centres, linearly interpolated
 * to the fine grid (`lastKnown` is the mean of the last observed block, to anchor the first steps).
 */
export declare function refine(coarse: ArrayLike<number>, factor: number, horizon: number, lastKnown: number): Float64Array;
