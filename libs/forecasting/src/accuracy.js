"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.naiveScale = naiveScale;
exports.mase = mase;
exports.meanAbsoluteError = meanAbsoluteError;
exports.pinballLoss = pinballLoss;
exports.intervalCoverage = intervalCoverage;
/**
 * In-sample MAE of seasonal naive with `period` over `history`: the MASE denominator.
 * Falls back to shorter lags when the history is shorter than two periods, and never returns 0
 * (a flat series would otherwise make every error infinitely bad).
 */
function naiveScale(history, period) {
    let lag = period;
    while (lag > 1 && history.length <= lag)
        lag = Math.max(1, Math.floor(lag / 2));
    let sum = 0;
    let n = 0;
    for (let i = lag; i < history.length; i++) {
        sum += Math.abs(history[i] - history[i - lag]);
        n++;
    }
    const mae = n > 0 ? sum / n : 0;
    if (mae > 0)
        return mae;
    let level = 0;
    for (let i = 0; i < history.length; i++)
        level += Math.abs(history[i]);
    return Math.max(history.length > 0 ? level / history.length : 0, 1) * 1e-3 + Number.EPSILON;
}
/** Mean absolute scaled error: MAE of the forecast divided by `naiveScale(history, period)`. */
function mase(actual, predicted, history, period) {
    return meanAbsoluteError(actual, predicted) / naiveScale(history, period);
}
function meanAbsoluteError(actual, predicted) {
    if (actual.length !== predicted.length)
        throw new RangeError('actual and predicted differ in length');
    if (actual.length === 0)
        return NaN;
    let sum = 0;
    for (let i = 0; i < actual.length; i++)
        sum += Math.abs(actual[i] - predicted[i]);
    return sum / actual.length;
}
/** Pinball (quantile) loss of quantile forecast `predicted` at level `q`, averaged over steps. */
function pinballLoss(actual, predicted, q) {
    if (actual.length !== predicted.length)
        throw new RangeError('actual and predicted differ in length');
    if (actual.length === 0)
        return NaN;
    let sum = 0;
    for (let i = 0; i < actual.length; i++) {
        const d = actual[i] - predicted[i];
        sum += d >= 0 ? q * d : (q - 1) * d;
    }
    return sum / actual.length;
}
/** Share of `actual` inside [lower, upper], bounds included. */
function intervalCoverage(actual, lower, upper) {
    if (actual.length === 0)
        return NaN;
    let inside = 0;
    for (let i = 0; i < actual.length; i++)
        if (actual[i] >= lower[i] && actual[i] <= upper[i])
            inside++;
    return inside / actual.length;
}
//# sourceMappingURL=accuracy.js.map