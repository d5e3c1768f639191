/**
 * In-sample MAE of seasonal naive with `period` over `history`: the MASE denominator.
 * Falls back to shorter lags when the history is shorter than two periods, and never returns 0
 * (a flat series would otherwise make every error infinitely bad).
 */
export function naiveScale(history: ArrayLike<number>, period: number): number {
  let lag = period;
  while (lag > 1 && history.length <= lag) lag = Math.max(1, Math.floor(lag / 2));
  let sum = 0;
  let n = 0;
  for (let i = lag; i < history.length; i++) {
    sum += Math.abs(history[i] - history[i - lag]);
    n++;
  }
  const mae = n > 0 ? sum / n : 0;
  if (mae > 0) return mae;
  let level = 0;
  for (let i = 0; i < history.length; i++) level += Math.abs(history[i]);
  return Math.max(history.length > 0 ? level / history.length : 0, 1) * 1e-3 + Number.EPSILON;
}

/** Mean absolute scaled error: MAE of the forecast divided by `naiveScale(history, period)`. */
export function mase(actual: ArrayLike<number>, predicted: ArrayLike<number>, history: ArrayLike<number>, period: number): number {
  return meanAbsoluteError(actual, predicted) / naiveScale(history, period);
}

export function meanAbsoluteError(actual: ArrayLike<number>, predicted: ArrayLike<number>): number {
  if (actual.length !== predicted.length) throw new RangeError('actual and predicted differ in length');
  if (actual.length === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < actual.length; i++) sum += Math.abs(actual[i] - predicted[i]);
  return sum / actual.length;
}

/** Pinball (quantile) loss of quantile forecast `predicted` at level `q`, averaged over steps. */
export function pinballLoss(actual: ArrayLike<number>, predicted: ArrayLike<number>, q: number): number {
  if (actual.length !== predicted.length) throw new RangeError('actual and predicted differ in length');
  if (actual.length === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = actual[i] - predicted[i];
    sum += d >= 0 ? q * d : (q - 1) * d;
  }
  return sum / actual.length;
}

/** Share of `actual` inside [lower, upper], bounds included. */
export function intervalCoverage(actual: ArrayLike<number>, lower: ArrayLike<number>, upper: ArrayLike<number>): number {
  if (actual.length === 0) return NaN;
  let inside = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] >= lower[i] && actual[i] <= upper[i]) inside++;
  return inside / actual.length;
}

/**
 * Share of `actual` at or below `upper`: the coverage of a one-sided quantile (nominal q for the
 * q-quantile). The p99 has no published p01 partner, and one-sided is what provisioning at p99 needs.
 */
export function quantileCoverage(actual: ArrayLike<number>, upper: ArrayLike<number>): number {
  if (actual.length !== upper.length) throw new RangeError('actual and upper differ in length');
  if (actual.length === 0) return NaN;
  let below = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] <= upper[i]) below++;
  return below / actual.length;
}

/**
 * Weighted absolute percentage error: Σ|actual − predicted| / Σ|actual|. Unlike MASE it needs no
 * in-sample history, so it scores forecasts made before a series has any (a cold start).
 */
export function wape(actual: ArrayLike<number>, predicted: ArrayLike<number>): number {
  if (actual.length !== predicted.length) throw new RangeError('actual and predicted differ in length');
  let err = 0;
  let total = 0;
  for (let i = 0; i < actual.length; i++) {
    err += Math.abs(actual[i] - predicted[i]);
    total += Math.abs(actual[i]);
  }
  return total > 0 ? err / total : NaN;
}
