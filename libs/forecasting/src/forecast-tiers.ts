import { naiveScale } from './accuracy';
import { applyCalibration, calibrate, Calibration, WideRelativeCalibration } from './conformal-calibration';
import { DemandForecast } from './demand-forecast';
import { scalePeriod } from './season-periods';
import { DailyShape } from './prior';
import { DAY_MS, HOUR_MS, RegularSeries } from './series';

/**
 * Which forecasting path a series takes (docs/decisions/0032-forecast-tiers.md): `full`, per-series
 * model selection by backtest (selectModel, forecast), for the heaviest series; `pooled`, a level ×
 * a daily shape shared across series of one application type (tailForecast), for the rest.
 */
export type ForecastTier = 'full' | 'pooled';

export interface TierAssignmentOptions {
  /** Series that get full model selection: the heaviest by volume. 0: none (everything pooled). */
  fullSeries: number;
  /**
   * A series in the full tier stays there while its rank is within `fullSeries × (1 + hysteresis)`
   * (default 0.1): a series near the boundary would otherwise swap tiers, and pay a selection,
   * with every small change of traffic.
   */
  hysteresis?: number;
}

/**
 * Tiers by volume: the `fullSeries` heaviest series are `full`, and so is a series that was `full`
 * and is still ranked within the hysteresis band; the rest `pooled`. Equal volumes rank by id so
 * the assignment is deterministic. At most `fullSeries × (1 + hysteresis)` are full. A series
 * moves as its traffic does: every assignment starts from the volumes given, the previous tiers
 * only keep the boundary from flapping.
 */
export function assignTiers(
  volumes: ReadonlyMap<string, number>,
  previous: ReadonlyMap<string, ForecastTier>,
  options: TierAssignmentOptions,
): Map<string, ForecastTier> {
  const k = Math.max(0, Math.floor(options.fullSeries));
  const keep = Math.floor(k * (1 + (options.hysteresis ?? 0.1)));
  const ranked = [...volumes.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const tiers = new Map<string, ForecastTier>();
  ranked.forEach(([id], rank) => tiers.set(id, rank < k || (rank < keep && previous.get(id) === 'full') ? 'full' : 'pooled'));
  return tiers;
}

export interface PooledForecastOptions {
  horizon: number;
  /**
   * Requests of a series' own history that weigh as much as the pooled shape (default 2,000,
   * measured on bench/forecast-tiers.ts): a series with 50 requests a week takes its daily shape
   * from its pool, one with 100,000 from itself.
   */
  shapeStrength?: number;
  /**
   * Days of the most recent history the level is the mean of (default 1, measured likewise: a
   * week's mean lags a series whose traffic moved, and on sparse series a day's mean is as good).
   */
  levelDays?: number;
}

export const DEFAULT_SHAPE_STRENGTH = 2_000;
export const DEFAULT_LEVEL_DAYS = 1;

/** Requests per local hour of day over a series (24 sums) and the steps behind each. */
function localHourSums(values: ArrayLike<number>, startMs: number, stepMs: number, utcOffsetHours: number, from = 0, to = values.length): { sums: Float64Array; steps: Float64Array } {
  const sums = new Float64Array(24);
  const steps = new Float64Array(24);
  // The time of day advances by one step per value: no modulo of an epoch per value (this runs
  // several times per pooled series, tens of thousands of series per pass).
  let t = timeOfDay(startMs + from * stepMs + utcOffsetHours * HOUR_MS + stepMs / 2);
  for (let i = from; i < to; i++) {
    const h = Math.floor(t / HOUR_MS);
    const v = values[i];
    if (Number.isFinite(v)) {
      sums[h] += v;
      steps[h]++;
    }
    t += stepMs;
    if (t >= DAY_MS) t = timeOfDay(t);
  }
  return { sums, steps };
}

/** Milliseconds since midnight of an instant (negative instants too). */
function timeOfDay(ms: number): number {
  return ((ms % DAY_MS) + DAY_MS) % DAY_MS;
}

/**
 * The pooled tier's point forecast: level × daily shape, in the series' local time. The level is
 * the mean per step over the last `levelDays`; the shape is the series' own (mean per local hour
 * over its history, mean 1) shrunk towards `pooledShape` by its volume: own weight
 * N / (N + shapeStrength), N its requests. No model fit: O(history + horizon), well under 1 ms.
 */
export function pooledPoint(series: Pick<RegularSeries, 'startMs' | 'stepMs' | 'values'>, utcOffsetHours: number, pooledShape: DailyShape, options: PooledForecastOptions): Float64Array {
  return pooledPointBefore(series, series.values.length, utcOffsetHours, pooledShape, options);
}

/** `pooledPoint` from origin `end` (values before it only): the forecast and the holdout share one code path. */
function pooledPointBefore(series: Pick<RegularSeries, 'startMs' | 'stepMs' | 'values'>, end: number, utcOffsetHours: number, pooledShape: DailyShape, options: PooledForecastOptions): Float64Array {
  const { startMs, stepMs, values } = series;
  const out = new Float64Array(options.horizon);
  if (end <= 0) return out;
  const { sums, steps } = localHourSums(values, startMs, stepMs, utcOffsetHours, 0, end);
  let total = 0;
  let n = 0;
  for (let h = 0; h < 24; h++) (total += sums[h]), (n += steps[h]);
  const overallMean = n > 0 ? total / n : 0;
  const levelSteps = Math.max(1, Math.round(((options.levelDays ?? DEFAULT_LEVEL_DAYS) * DAY_MS) / stepMs));
  let recent = 0;
  let recentN = 0;
  for (let i = Math.max(0, end - levelSteps); i < end; i++) if (Number.isFinite(values[i])) (recent += values[i]), recentN++;
  const level = recentN > 0 ? recent / recentN : 0;
  const own = Math.max(0, total) / (Math.max(0, total) + (options.shapeStrength ?? DEFAULT_SHAPE_STRENGTH));
  const shape = new Float64Array(24);
  for (let h = 0; h < 24; h++) {
    const ownFactor = steps[h] > 0 && overallMean > 0 ? sums[h] / steps[h] / overallMean : (pooledShape[h] ?? 1);
    shape[h] = own * ownFactor + (1 - own) * (pooledShape[h] ?? 1);
  }
  let mean = 0;
  for (let h = 0; h < 24; h++) mean += shape[h] / 24;
  const originMs = startMs + end * stepMs;
  let t = timeOfDay(originMs + utcOffsetHours * HOUR_MS + stepMs / 2);
  for (let i = 0; i < options.horizon; i++) {
    out[i] = mean > 0 ? (level * shape[Math.floor(t / HOUR_MS)]) / mean : level;
    t += stepMs;
    if (t >= DAY_MS) t = timeOfDay(t);
  }
  return out;
}

/**
 * The daily shape (local hours, mean 1) a pool of series shares, e.g. the sampled series of one
 * application type: each member's own shape weighted by how far its volume makes it trustworthy,
 * N / (N + shapeStrength), so a heavy series counts at most once (it does not drown the pool) and
 * a series of a few requests hardly at all. Null when no member has traffic.
 */
export function pooledShapeOf(members: ReadonlyArray<{ grid: Pick<RegularSeries, 'startMs' | 'stepMs' | 'values'>; utcOffsetHours: number }>, shapeStrength = DEFAULT_SHAPE_STRENGTH): number[] | null {
  const out = new Float64Array(24);
  let weights = 0;
  for (const { grid, utcOffsetHours } of members) {
    const c = shapeContribution(grid, utcOffsetHours, shapeStrength);
    if (!c) continue;
    for (let h = 0; h < 24; h++) out[h] += c.weight * c.factors[h];
    weights += c.weight;
  }
  return weights > 0 ? Array.from(out, (v) => v / weights) : null;
}

/** A series' own local-hour shape (mean 1) and its weight in a pool; null without traffic in every hour. */
function shapeContribution(grid: Pick<RegularSeries, 'startMs' | 'stepMs' | 'values'>, utcOffsetHours: number, shapeStrength: number): { factors: Float64Array; weight: number } | null {
  const { sums, steps } = localHourSums(grid.values, grid.startMs, grid.stepMs, utcOffsetHours);
  let total = 0;
  let n = 0;
  for (let h = 0; h < 24; h++) (total += sums[h]), (n += steps[h]);
  if (!(total > 0) || steps.some((c) => c === 0)) return null;
  return { factors: Float64Array.from(sums, (v, h) => v / steps[h] / (total / n)), weight: total / (total + shapeStrength) };
}

/** One series' holdout for the pooled calibration: the last `horizon` steps forecast from before them. */
export interface PooledHoldout {
  residuals: Float64Array;
  points: Float64Array;
  /** Mean requests per step over the history before the holdout: the volume band it calibrates. */
  meanPerStep: number;
}

/**
 * The pooled method's one-origin backtest of a series: forecast its last `horizon` steps from the
 * values before them (null when that leaves less than a day to learn from). Residuals are
 * actual − point; the pool's calibration is made of many series' holdouts (pooledCalibrations).
 */
export function pooledHoldout(series: Pick<RegularSeries, 'startMs' | 'stepMs' | 'values'>, utcOffsetHours: number, pooledShape: DailyShape, options: PooledForecastOptions): PooledHoldout | null {
  const origin = series.values.length - options.horizon;
  if (origin * series.stepMs < DAY_MS) return null;
  const points = pooledPointBefore(series, origin, utcOffsetHours, pooledShape, options);
  const residuals = new Float64Array(options.horizon);
  for (let h = 0; h < options.horizon; h++) residuals[h] = series.values[origin + h] - points[h];
  let sum = 0;
  for (let i = 0; i < origin; i++) sum += series.values[i];
  return { residuals, points, meanPerStep: sum / origin };
}

/**
 * Volume bands (upper bounds, mean requests per step) the pooled calibration is made per: the
 * errors of a series of 0.05 requests per step (mostly zeros) and of one of 50 are not alike in
 * relative terms, while series within a decade of volume are.
 */
export const PooledVolumeBands = [0.1, 1, 10, 100, Infinity] as const;

export interface PooledCalibrations {
  /** Per band of PooledVolumeBands: offsets in units of (|point| + floor), or null with too few holdouts. */
  bands: Array<Calibration['buckets'] | null>;
  /** Holdouts per band. */
  holdouts: number[];
}

/** The band index of a series' mean requests per step. */
export function volumeBand(meanPerStep: number): number {
  const i = PooledVolumeBands.findIndex((upTo) => meanPerStep < upTo);
  return i < 0 ? PooledVolumeBands.length - 1 : i;
}

/**
 * The floor of a series' scaled calibration: 10 % of its mean (as selectModel's calibration),
 * and at least one request, since counts of a sparse series are 0 or 1, not a share of a point
 * far below 1.
 */
export function pooledFloor(meanPerStep: number): number {
  return Math.max(1, 0.1 * meanPerStep);
}

/**
 * Split-conformal calibration pooled over many series' holdouts, per volume band: each holdout's
 * residuals in units of (|point| + its floor), so series of one band share offsets. A band with
 * fewer than `minHoldouts` (default 20) series is null: its series take a neighbour band's.
 */
export function pooledCalibrations(holdouts: readonly PooledHoldout[], minHoldouts = 20): PooledCalibrations {
  const byBand: Float64Array[][] = PooledVolumeBands.map(() => []);
  for (const h of holdouts) byBand[volumeBand(h.meanPerStep)].push(scaledResiduals(h));
  return calibrationsOfScaled(byBand, minHoldouts);
}

/** A holdout's residuals in units of (|point| + its floor): comparable across the series of one band. */
function scaledResiduals(h: PooledHoldout): Float64Array {
  const floor = pooledFloor(h.meanPerStep);
  return Float64Array.from(h.residuals, (r, i) => r / (Math.abs(h.points[i]) + floor));
}

function calibrationsOfScaled(byBand: readonly Float64Array[][], minHoldouts: number): PooledCalibrations {
  return {
    bands: byBand.map((group) => (group.length < minHoldouts ? null : calibrate(group).buckets)),
    holdouts: byBand.map((g) => g.length),
  };
}

/** A series' calibration from its band (else the nearest band that has one; else wide, uncalibrated). */
export function pooledCalibrationOf(calibrations: PooledCalibrations | null, meanPerStep: number): { calibration: Calibration; calibrated: boolean } {
  const band = volumeBand(meanPerStep);
  const bands = calibrations?.bands ?? [];
  for (let d = 0; d < PooledVolumeBands.length; d++) {
    for (const i of [band - d, band + d]) {
      const buckets = bands[i];
      if (buckets) return { calibration: { mode: 'scaled', floor: pooledFloor(meanPerStep), buckets }, calibrated: true };
    }
  }
  return { calibration: WideRelativeCalibration, calibrated: false };
}

/**
 * The pooled tier's forecast of a series on its regular grid (values up to the last bucket): the
 * point (pooledPoint) with its volume band's pooled calibration, as the production payload wants
 * it. `mase` is the series' own holdout MASE (null where the holdout or its scale is undefined);
 * `confidence` is high only with a calibrated band. Never `forecastOnly`: no backtest against
 * seasonal naive stands behind it.
 */
export function pooledForecast(
  grid: Pick<RegularSeries, 'startMs' | 'stepMs' | 'values'>,
  utcOffsetHours: number,
  pooledShape: DailyShape,
  calibrations: PooledCalibrations | null,
  options: PooledForecastOptions & { now: Date },
): DemandForecast & { holdout: PooledHoldout | null } {
  const point = pooledPoint(grid, utcOffsetHours, pooledShape, options);
  const holdout = pooledHoldout(grid, utcOffsetHours, pooledShape, options);
  let mean = 0;
  for (let i = 0; i < grid.values.length; i++) mean += grid.values[i] / grid.values.length;
  const { calibration, calibrated } = pooledCalibrationOf(calibrations, mean);
  let mase: number | null = null;
  if (holdout) {
    const origin = grid.values.length - options.horizon;
    let mae = 0;
    for (const r of holdout.residuals) mae += Math.abs(r) / holdout.residuals.length;
    const before = grid.values.subarray(0, origin);
    // A flat (e.g. all-zero) history has no seasonal-naive error to scale by: MASE is undefined
    // there (naiveScale returns a tiny floor, not a scale), and WAPE is the measure.
    const flat = before.every((v) => v === before[0]);
    mase = flat ? null : mae / naiveScale(before, scalePeriod(grid.stepMs));
  }
  return {
    startMs: grid.startMs + grid.values.length * grid.stepMs,
    stepMs: grid.stepMs,
    horizon: options.horizon,
    quantiles: applyCalibration(point, calibration),
    point,
    model: 'pooled',
    selectedModel: 'pooled',
    fallbackErrors: [],
    mase,
    selectedAt: options.now.toISOString(),
    confidence: calibrated ? 'high' : 'low',
    forecastOnly: false,
    priorWeight: 0,
    holdout,
  };
}

/** What the pooled tier learnt from a pass over its series: shapes per application type and calibrations (JSON, stored). */
export interface PooledTierState {
  shapes: Record<string, number[]>;
  calibrations: PooledCalibrations;
  /** Series that contributed. */
  series: number;
  learntAt: string;
}

/**
 * Learns the pooled tier's shared state from the series it forecasts, one at a time as a pass
 * runs (the forecast reads each history anyway): per application type the pooled daily shape
 * (pooledShapeOf's weighting), per volume band a uniform sample of at most `perBand` holdouts
 * (reservoir sampling: memory bounded whatever the number of series), calibrated at the end.
 */
export class PooledTierLearner {
  private readonly shapes = new Map<string, { sum: Float64Array; weight: number }>();
  private readonly bands: Float64Array[][] = PooledVolumeBands.map(() => []);
  private readonly seen: number[] = PooledVolumeBands.map(() => 0);
  private series = 0;
  private state: number;

  constructor(
    private readonly perBand = 500,
    private readonly shapeStrength = DEFAULT_SHAPE_STRENGTH,
    seed = 1,
  ) {
    this.state = seed >>> 0;
  }

  add(group: string, grid: Pick<RegularSeries, 'startMs' | 'stepMs' | 'values'>, utcOffsetHours: number, holdout: PooledHoldout | null): void {
    this.series++;
    const c = shapeContribution(grid, utcOffsetHours, this.shapeStrength);
    if (c) {
      const s = this.shapes.get(group) ?? { sum: new Float64Array(24), weight: 0 };
      for (let h = 0; h < 24; h++) s.sum[h] += c.weight * c.factors[h];
      s.weight += c.weight;
      this.shapes.set(group, s);
    }
    if (!holdout) return;
    const b = volumeBand(holdout.meanPerStep);
    const k = this.seen[b]++;
    if (this.bands[b].length < this.perBand) this.bands[b].push(scaledResiduals(holdout));
    else {
      const j = Math.floor(this.random() * (k + 1));
      if (j < this.perBand) this.bands[b][j] = scaledResiduals(holdout);
    }
  }

  /** The state learnt so far (null before any series). */
  result(now: Date, minHoldouts = 20): PooledTierState | null {
    if (this.series === 0) return null;
    const shapes: Record<string, number[]> = {};
    for (const [group, s] of this.shapes) if (s.weight > 0) shapes[group] = Array.from(s.sum, (v) => v / s.weight);
    return { shapes, calibrations: calibrationsOfScaled(this.bands, minHoldouts), series: this.series, learntAt: now.toISOString() };
  }

  private random(): number {
    this.state = (Math.imul(this.state, 1664525) + 1013904223) >>> 0;
    return this.state / 2 ** 32;
  }
}
