/**
 * In-sample MAE of seasonal naive with `period` over `history`: the MASE denominator.
 * Falls back to shorter lags when the history is shorter than two periods, and never returns 0
 * (a flat series would otherwise make every error infinitely bad).
 */
export declare function naiveScale(history: ArrayLike<number>, period: number): number;
/** Mean absolute scaled error: MAE of the forecast divided by `naiveScale(history, period)`. */
export declare function mase(actual: ArrayLike<number>, predicted: ArrayLike<number>, history: ArrayLike<number>, period: number): number;
export declare function meanAbsoluteError(actual: ArrayLike<number>, predicted: ArrayLike<number>): number;
/** Pinball (quantile) loss of quantile forecast `predicted` at level `q`, averaged over steps. */
export declare function pinballLoss(actual: ArrayLike<number>, predicted: ArrayLike<number>, q: number): number;
/** Share of `actual` inside [lower, upper], bounds included. */
export declare function intervalCoverage(actual: ArrayLike<number>, lower: ArrayLike<number>, upper: ArrayLike<number>): number;
