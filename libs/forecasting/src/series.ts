/** A demand series as received: epoch-millisecond timestamps and one value per timestamp. */
export interface DemandSeries {
  timestamps: readonly number[];
  values: readonly number[];
}

/** The part of a series before `t` (what was known at `t`: backtests, replays). */
export function seriesBefore(series: DemandSeries, t: number): DemandSeries {
  const timestamps: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < series.timestamps.length; i++) {
    if (series.timestamps[i] < t) {
      timestamps.push(series.timestamps[i]);
      values.push(series.values[i]);
    }
  }
  return { timestamps, values };
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

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/** How values combine when several raw points fall into one step: counts add up, gauges average. */
export type Aggregation = 'sum' | 'mean';

/** The series' native step: the median gap between consecutive distinct timestamps. */
export function inferStepMs(timestamps: readonly number[]): number {
  // A stored history is finite and in order already, and usually evenly spaced: the same answer
  // without copying and sorting.
  let ordered = timestamps.length > 0 && Number.isFinite(timestamps[0]);
  let even = true;
  for (let i = 1; ordered && i < timestamps.length; i++) {
    ordered = Number.isFinite(timestamps[i]) && timestamps[i] > timestamps[i - 1];
    even &&= timestamps[i] - timestamps[i - 1] === timestamps[1] - timestamps[0];
  }
  if (ordered && timestamps.length > 1 && even) return timestamps[1] - timestamps[0];
  const sorted = ordered ? timestamps : [...timestamps].filter(Number.isFinite).sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let i = 1; i < sorted.length; i++) if (sorted[i] > sorted[i - 1]) gaps.push(sorted[i] - sorted[i - 1]);
  if (gaps.length === 0) return 5 * MINUTE_MS;
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)];
}

/**
 * Resamples to a regular grid of `stepMs` anchored at the first timestamp (so series stamped at
 * :53 keep their phase) and fills gaps, because MSTL and Prophet reject NaN.
 *
 * Each grid value is the mean of the raw values in the step, times the number of native steps per
 * grid step for `sum` series (so a partly observed step is scaled up rather than under-counted).
 * Gaps are filled with the value one season earlier (`seasonPeriod` steps, when known and filled),
 * else by linear interpolation between the neighbours; a trailing gap repeats the last value.
 */
export function regularize(
  series: DemandSeries,
  stepMs: number,
  options: { aggregation?: Aggregation; nativeStepMs?: number; seasonPeriod?: number; maxGapSteps?: number } = {},
): RegularSeries {
  // The finite points in time order (a stable sort: equal timestamps keep their order, so the sums
  // below add in the same order either way); a series in order already is not copied into pairs.
  const length = Math.min(series.timestamps.length, series.values.length);
  const ts = new Float64Array(length);
  const vs = new Float64Array(length);
  let m = 0;
  let ordered = true;
  for (let i = 0; i < length; i++) {
    const t = series.timestamps[i];
    const v = series.values[i];
    if (Number.isFinite(t) && Number.isFinite(v)) {
      if (m > 0 && t < ts[m - 1]) ordered = false;
      ts[m] = t;
      vs[m++] = v;
    }
  }
  if (m === 0) return { startMs: NaN, stepMs, values: new Float64Array(0), filled: 0, observed: new Uint8Array(0) };
  if (!ordered) {
    const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => ts[a] - ts[b]);
    const [t0, v0] = [ts.slice(0, m), vs.slice(0, m)];
    order.forEach((from, to) => {
      ts[to] = t0[from];
      vs[to] = v0[from];
    });
  }
  const startMs = ts[0];
  const n = Math.floor((ts[m - 1] - startMs) / stepMs) + 1;
  const sums = new Float64Array(n);
  const counts = new Uint32Array(n);
  for (let j = 0; j < m; j++) {
    const i = Math.floor((ts[j] - startMs) / stepMs);
    sums[i] += vs[j];
    counts[i] += 1;
  }
  const nativeStepMs = options.nativeStepMs ?? inferStepMs(Array.from(ts.subarray(0, m)));
  const scale = (options.aggregation ?? 'sum') === 'sum' ? Math.max(1, stepMs / nativeStepMs) : 1;
  const values = new Float64Array(n).fill(NaN);
  for (let i = 0; i < n; i++) if (counts[i] > 0) values[i] = (sums[i] / counts[i]) * scale;
  const filled = fillGaps(values, options.seasonPeriod);
  return { startMs, stepMs, values, filled, observed: Uint8Array.from(counts, (c) => (c > 0 ? 1 : 0)) };
}

/**
 * A series already on the grid (evenly spaced at `stepMs`, as a stored history read densely is)
 * as a RegularSeries without `regularize`'s copies and gap filling; null when it is not, or has a
 * non-finite value. The same values `regularize` gives such a series, at a fraction of its cost
 * (the pooled tier reads tens of thousands of them per pass).
 */
export function onGrid(series: DemandSeries, stepMs: number): RegularSeries | null {
  const { timestamps, values } = series;
  const n = Math.min(timestamps.length, values.length);
  if (n === 0) return null;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (timestamps[i] !== timestamps[0] + i * stepMs || !Number.isFinite(values[i])) return null;
    out[i] = values[i];
  }
  return { startMs: timestamps[0], stepMs, values: out, filled: 0, observed: new Uint8Array(n).fill(1) };
}

/** Fills NaN in place (see `regularize`); returns how many values were filled. */
export function fillGaps(values: Float64Array, seasonPeriod?: number): number {
  let filled = 0;
  let i = 0;
  while (i < values.length) {
    if (!Number.isNaN(values[i])) {
      i++;
      continue;
    }
    let end = i;
    while (end < values.length && Number.isNaN(values[end])) end++;
    const before = i > 0 ? values[i - 1] : NaN;
    const after = end < values.length ? values[end] : NaN;
    for (let k = i; k < end; k++) {
      const seasonal = seasonPeriod && seasonPeriod > 1 && k - seasonPeriod >= 0 ? values[k - seasonPeriod] : NaN;
      if (end - i > 1 && Number.isFinite(seasonal)) values[k] = seasonal;
      else if (Number.isFinite(before) && Number.isFinite(after)) values[k] = before + ((after - before) * (k - i + 1)) / (end - i + 1);
      else values[k] = Number.isFinite(before) ? before : after;
    }
    filled += end - i;
    i = end;
  }
  return filled;
}

/** The last `count` values (bounded training windows keep fits fast and recent). */
export function tail(series: RegularSeries, count: number): RegularSeries {
  const from = Math.max(0, series.values.length - count);
  return {
    ...series,
    startMs: series.startMs + from * series.stepMs,
    values: series.values.subarray(from),
    observed: series.observed?.subarray(from),
  };
}

/** The first `count` values: the part of the series known at an origin. */
export function head(series: RegularSeries, count: number): RegularSeries {
  const end = Math.max(0, Math.min(count, series.values.length));
  return { ...series, values: series.values.subarray(0, end), observed: series.observed?.subarray(0, end) };
}

/** Means of consecutive blocks of `factor` values, aligned so the last block ends at the last value. */
export function coarsen(values: Float64Array, factor: number): Float64Array {
  if (factor <= 1) return values;
  const blocks = Math.floor(values.length / factor);
  const offset = values.length - blocks * factor;
  const out = new Float64Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let s = 0;
    for (let j = 0; j < factor; j++) s += values[offset + b * factor + j];
    out[b] = s / factor;
  }
  return out;
}

/**
 * Inverse of `coarsen` for a forecast: block means placed at block centres, linearly interpolated
 * to the fine grid (`lastKnown` is the mean of the last observed block, to anchor the first steps).
 */
export function refine(coarse: ArrayLike<number>, factor: number, horizon: number, lastKnown: number): Float64Array {
  const out = new Float64Array(horizon);
  if (factor <= 1) {
    for (let h = 0; h < horizon; h++) out[h] = coarse[Math.min(h, coarse.length - 1)];
    return out;
  }
  // Fine step h (0-based after the origin) sits at coarse position (h + 0.5) / factor - 0.5,
  // where position -1 is the last observed block.
  const at = (k: number): number => (k < 0 ? lastKnown : coarse[Math.min(k, coarse.length - 1)]);
  for (let h = 0; h < horizon; h++) {
    const pos = (h + 0.5) / factor - 0.5;
    const k = Math.floor(pos);
    const w = pos - k;
    out[h] = at(k) * (1 - w) + at(k + 1) * w;
  }
  return out;
}
