/** Quantiles published per step: the contract's p10/p50/p90/p99, plus p05/p95 for the 90 % interval. */
export const QuantileKeys = ['p05', 'p10', 'p50', 'p90', 'p95', 'p99'] as const;
export type QuantileKey = (typeof QuantileKeys)[number];
export const QuantileLevel: Record<QuantileKey, number> = { p05: 0.05, p10: 0.1, p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

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
  buckets: { fromStep: number; toStep: number; residuals: number; offsets: Record<QuantileKey, number> }[];
}

/** Factors for forecasts without a backtest: the 80 % interval spans 0.4×–2.2× the point. */
export const WideRelativeCalibration: Calibration = {
  mode: 'relative',
  buckets: [{ fromStep: 0, toStep: 1, residuals: 0, offsets: { p05: 0.25, p10: 0.4, p50: 1, p90: 2.2, p95: 3, p99: 5 } }],
};

/**
 * Conformal quantile of sorted residuals with the finite-sample correction: the ⌈(n+1)q⌉-th value
 * for upper levels, the ⌊(n+1)q⌋-th for lower ones, so small samples err on the wide side.
 */
export function conformalQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  if (q === 0.5) return n % 2 ? sorted[n >> 1] : (sorted[(n >> 1) - 1] + sorted[n >> 1]) / 2;
  const rank = q > 0.5 ? Math.ceil((n + 1) * q) : Math.floor((n + 1) * q);
  return sorted[Math.min(n, Math.max(1, rank)) - 1];
}

/**
 * Builds a calibration from backtest residuals: `residuals[o][h]` is actual − point at origin o,
 * step h; with `points` (the forecasts behind them) it is `scaled`, else `additive`. Buckets hold
 * at least `minPerBucket` residuals (default 40), at most `maxBuckets` (8).
 */
export function calibrate(
  residuals: readonly ArrayLike<number>[],
  options: { maxBuckets?: number; minPerBucket?: number; points?: readonly ArrayLike<number>[] } = {},
): Calibration {
  const horizon = residuals.reduce((m, r) => Math.max(m, r.length), 0);
  if (residuals.length === 0 || horizon === 0) return WideRelativeCalibration;
  const perStep = residuals.length;
  const minPer = options.minPerBucket ?? 40;
  const points = options.points;
  let floor = 0;
  if (points) {
    let sum = 0;
    let n = 0;
    for (const p of points) for (let h = 0; h < p.length; h++) if (Number.isFinite(p[h])) (sum += Math.abs(p[h])), n++;
    floor = Math.max(1e-9, (0.1 * sum) / Math.max(1, n));
  }
  const count = Math.max(1, Math.min(options.maxBuckets ?? 8, horizon, Math.floor((perStep * horizon) / minPer)));
  const buckets: Calibration['buckets'] = [];
  for (let b = 0; b < count; b++) {
    const fromStep = Math.floor((b * horizon) / count);
    const toStep = Math.floor(((b + 1) * horizon) / count);
    const values: number[] = [];
    residuals.forEach((r, o) => {
      for (let h = fromStep; h < Math.min(toStep, r.length); h++) {
        if (!Number.isFinite(r[h])) continue;
        values.push(points ? r[h] / (Math.abs(points[o][h]) + floor) : r[h]);
      }
    });
    values.sort((a, c) => a - c);
    const offsets = Object.fromEntries(QuantileKeys.map((k) => [k, conformalQuantile(values, QuantileLevel[k])])) as Record<QuantileKey, number>;
    buckets.push({ fromStep, toStep, residuals: values.length, offsets });
  }
  return points ? { mode: 'scaled', floor, buckets } : { mode: 'additive', buckets };
}

/**
 * Quantile forecast from a point forecast: calibrated, clamped at zero (demand is non-negative) and
 * made monotone across levels (p05 ≤ p10 ≤ … ≤ p99) at every step.
 */
export function applyCalibration(point: ArrayLike<number>, calibration: Calibration): QuantileForecast {
  const horizon = point.length;
  const out = Object.fromEntries(QuantileKeys.map((k) => [k, new Float64Array(horizon)])) as QuantileForecast;
  let b = 0;
  const buckets = calibration.buckets;
  const levels = QuantileKeys.map((k) => out[k]);
  for (let h = 0; h < horizon; h++) {
    const bucketBefore = b;
    while (b < buckets.length - 1 && h >= buckets[b].toStep) b++;
    // A step like the one before (same point, same bucket) has its quantiles: the pooled tier's
    // points are constant over each local hour, so most of its steps are copies.
    if (h > 0 && b === bucketBefore && (point[h] === point[h - 1] || (Number.isNaN(point[h]) && Number.isNaN(point[h - 1])))) {
      for (const level of levels) level[h] = level[h - 1];
      continue;
    }
    const offsets = buckets[b].offsets;
    const base = Math.max(0, Number.isFinite(point[h]) ? point[h] : 0);
    let floor = 0;
    for (const k of QuantileKeys) {
      const raw =
        calibration.mode === 'additive'
          ? point[h] + offsets[k]
          : calibration.mode === 'scaled'
            ? point[h] + offsets[k] * (Math.abs(point[h]) + (calibration.floor ?? 0))
            : base * offsets[k];
      const v = Math.max(floor, Number.isFinite(raw) ? raw : floor);
      out[k][h] = v;
      floor = v;
    }
  }
  return out;
}
