/** Quantiles published per step: the contract's p10/p50/p90/p99, plus p05/p95 for the 90 % interval. */
export declare const QuantileKeys: readonly ["p05", "p10", "p50", "p90", "p95", "p99"];
export type QuantileKey = (typeof QuantileKeys)[number];
export declare const QuantileLevel: Record<QuantileKey, number>;
export type QuantileForecast = Record<QuantileKey, Float64Array>;
/**
 * Split-conformal calibration from a series' own backtest residuals (actual − point), one set of
 * residual quantiles per horizon bucket, so intervals widen with the horizon as the errors did.
 *
 * `scaled` (what `selectModel` uses): residuals are divided by |point| + floor (floor = 10 % of the
 * mean point), so intervals are wider at the daily peak than at night, as demand errors are; on
 * the benchmark data this lowered pinball loss and brought per-series coverage nearer nominal.
 * `additive`: quantile = point + offset. `relative`: quantile = point × factor, used when there
 * is no backtest to learn from (short history, cold start): wide on purpose.
 */
export interface Calibration {
    mode: 'additive' | 'relative' | 'scaled';
    /** `scaled`: offsets are in units of (|point| + floor). */
    floor?: number;
    /** Steps [fromStep, toStep) share `offsets`; the last bucket also covers any longer horizon. */
    buckets: {
        fromStep: number;
        toStep: number;
        residuals: number;
        offsets: Record<QuantileKey, number>;
    }[];
}
/** Factors for forecasts without a backtest: the 80 % interval spans 0.4×–2.2× the point. */
export declare const WideRelativeCalibration: Calibration;
/**
 * Conformal quantile of sorted residuals with the finite-sample correction: the ⌈(n+1)q⌉-th value
 * for upper levels, the ⌊(n+1)q⌋-th for lower ones, so small samples err on the wide side.
 */
export declare function conformalQuantile(sorted: ArrayLike<number>, q: number): number;
/**
 * Builds a calibration from backtest residuals: `residuals[o][h]` is actual − point at origin o,
 * step h; with `points` (the forecasts behind them) it is `scaled`, else `additive`. Buckets hold
 * at least `minPerBucket` residuals (default 40), at most `maxBuckets` (8).
 */
export declare function calibrate(residuals: readonly ArrayLike<number>[], options?: {
    maxBuckets?: number;
    minPerBucket?: number;
    points?: readonly ArrayLike<number>[];
}): Calibration;
/**
 * Quantile forecast from a point forecast: calibrated, clamped at zero (demand is non-negative) and
 * made monotone across levels (p05 ≤ p10 ≤ … ≤ p99) at every step.
 */
export declare function applyCalibration(point: ArrayLike<number>, calibration: Calibration): QuantileForecast;
