import { TierPolicy } from '@shardcast/contracts';
import type { AppType, DomainRegistration, Market, Tier } from '@shardcast/contracts';
import { applyCalibration, WideRelativeCalibration } from './conformal-calibration';
import { DemandForecast } from './demand-forecast';
import { DAY_MS, HOUR_MS, RegularSeries } from './series';

/** 24 factors by local hour (mean 1): the shape of a day. */
export type DailyShape = readonly number[];

const normalise = (xs: readonly number[]): number[] => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.map((x) => (mean > 0 ? x / mean : 1));
};

// Orders of magnitude from public traffic curves (consumer sites peak in the evening, business APIs
// in office hours, databases follow their apps with a floor, streaming peaks at prime time).
const consumer = [0.55, 0.42, 0.34, 0.3, 0.29, 0.33, 0.45, 0.65, 0.85, 1, 1.08, 1.12, 1.14, 1.13, 1.12, 1.12, 1.14, 1.18, 1.24, 1.3, 1.32, 1.25, 1.05, 0.78];
const business = [0.35, 0.3, 0.28, 0.27, 0.28, 0.35, 0.55, 0.9, 1.3, 1.5, 1.55, 1.5, 1.4, 1.5, 1.55, 1.5, 1.4, 1.2, 0.95, 0.8, 0.7, 0.6, 0.5, 0.42];
const primeTime = [0.5, 0.35, 0.25, 0.2, 0.18, 0.2, 0.3, 0.45, 0.55, 0.6, 0.65, 0.7, 0.75, 0.75, 0.75, 0.8, 0.9, 1.1, 1.4, 1.75, 2, 2, 1.6, 1];
const flatter = (xs: readonly number[], keep: number) => normalise(xs).map((x) => 1 - keep + keep * x);

/** Daily shape (local time) and weekly factors (Monday first, local days) per application type. */
export const PriorShapes: Record<AppType, { daily: DailyShape; weekly: readonly number[] }> = {
  webapp: { daily: normalise(consumer), weekly: normalise([1, 1, 1, 1, 0.98, 0.95, 0.97]) },
  static: { daily: normalise(consumer), weekly: normalise([1, 1, 1, 1, 0.98, 0.95, 0.97]) },
  ssr: { daily: normalise(consumer), weekly: normalise([1, 1, 1, 1, 0.98, 0.95, 0.97]) },
  api: { daily: normalise(business), weekly: normalise([1.1, 1.1, 1.1, 1.1, 1.05, 0.8, 0.75]) },
  database: { daily: flatter(business, 0.5), weekly: normalise([1.05, 1.05, 1.05, 1.05, 1.02, 0.9, 0.88]) },
  streaming: { daily: normalise(primeTime), weekly: normalise([0.95, 0.95, 0.95, 0.97, 1.05, 1.1, 1.1]) },
  websocket: { daily: flatter(consumer, 0.5), weekly: normalise([1, 1, 1, 1, 1, 0.95, 0.95]) },
};

/** Where a domain's users are when its registration does not say: per tier. */
export const DefaultMarkets: Record<Tier, Market[]> = {
  free: [{ country: 'US', share: 1 }],
  pro: [
    { country: 'US', share: 0.5 },
    { country: 'DE', share: 0.3 },
    { country: 'SG', share: 0.2 },
  ],
  enterprise: [
    { country: 'US', share: 0.4 },
    { country: 'DE', share: 0.25 },
    { country: 'GB', share: 0.1 },
    { country: 'JP', share: 0.1 },
    { country: 'BR', share: 0.05 },
    { country: 'IN', share: 0.05 },
    { country: 'AU', share: 0.05 },
  ],
};

/** Hours of history that weigh as much as the prior: data takes over by how much of it there is. */
export const PRIOR_HALF_WEIGHT_HOURS = 6;
/** Days of a borrowed (or own) daily shape that weigh as much as the app type's. */
const SHAPE_HALF_WEIGHT_DAYS = 2;

export interface PriorInput {
  appType: AppType;
  /**
   * Expected peak requests per second in this region: the user base's peak times the region's
   * share. Null for a domain nobody registered: no level to start from, the data's alone.
   */
  peakRequestsPerSecond: number | null;
  /** Hours the region's local time is ahead of UTC. */
  utcOffsetHours: number;
  /** A daily shape learnt from related series (the domain's other regions, domains of the same app type), with the days it rests on. */
  borrowed?: { shape: DailyShape; days: number } | null;
}

/** The expected peak requests per second of a registration: its own, or its tier's default for its account size. */
export function expectedPeak(registration: Pick<DomainRegistration, 'tier' | 'userBase'>): number {
  return 'peakRequestsPerSecond' in registration.userBase ? registration.userBase.peakRequestsPerSecond : TierPolicy[registration.tier].defaultPeakRequestsPerSecond[registration.userBase.accountSize];
}

/** The share of a region the registration's markets leave out, where traffic shows up anyway. */
const UNLISTED_REGION_SHARE = 0.05;

/**
 * The prior of one (domain, region), as the forecaster builds it and the benchmark's cold-start
 * protocol replays it: the registration's peak × the region's share of its markets (null share: a
 * region outside them), or no level for a domain nobody registered (the data's alone).
 */
export function registrationPrior(input: {
  registration: Pick<DomainRegistration, 'tier' | 'userBase'> | null;
  share: number | null;
  appType: AppType;
  utcOffsetHours: number;
  borrowed?: PriorInput['borrowed'];
}): PriorInput {
  const { registration, share, appType, utcOffsetHours, borrowed } = input;
  return { appType, peakRequestsPerSecond: registration ? expectedPeak(registration) * (share ?? UNLISTED_REGION_SHARE) : null, utcOffsetHours, borrowed: borrowed ?? null };
}

/** The shape factor (daily × weekly, mean about 1) at an instant, in the region's local time. */
function shapeAt(daily: DailyShape, weekly: readonly number[], utcOffsetHours: number, ms: number): number {
  const local = ms + utcOffsetHours * HOUR_MS;
  const hour = ((((local % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS) - 0.5; // factors sit at the middle of their hour
  const k = Math.floor(hour);
  const w = hour - k;
  const d = daily[(k + 24) % 24] * (1 - w) + daily[(k + 25) % 24] * w;
  const dow = (Math.floor(local / DAY_MS) + 3) % 7; // 1970-01-01 was a Thursday; Monday = 0
  return d * weekly[(dow + 7) % 7];
}

/** A series' own daily shape by local hour (mean 1) and the days it spans; null before a full day. */
export function dailyShapeOf(grid: Pick<RegularSeries, 'startMs' | 'stepMs' | 'values'>, utcOffsetHours: number): { shape: number[]; days: number } | null {
  const days = (grid.values.length * grid.stepMs) / DAY_MS;
  if (days < 1 || grid.stepMs > HOUR_MS) return null;
  const sums = new Array<number>(24).fill(0);
  const counts = new Array<number>(24).fill(0);
  // The time of day advances by one step per value: no modulo of an epoch per value (the pooled
  // tier takes every series' shape, tens of thousands per pass).
  let t = timeOfDay(grid.startMs + utcOffsetHours * HOUR_MS + grid.stepMs / 2);
  for (let i = 0; i < grid.values.length; i++) {
    const h = Math.floor(t / HOUR_MS);
    if (Number.isFinite(grid.values[i])) {
      sums[h] += grid.values[i];
      counts[h]++;
    }
    t += grid.stepMs;
    if (t >= DAY_MS) t = timeOfDay(t);
  }
  if (counts.some((c) => c === 0)) return null;
  const means = sums.map((s, h) => s / counts[h]);
  if (!(means.reduce((a, b) => a + b, 0) > 0)) return null;
  return { shape: normalise(means), days };
}

/** Milliseconds since midnight of an instant (negative instants too). */
function timeOfDay(ms: number): number {
  return ((ms % DAY_MS) + DAY_MS) % DAY_MS;
}

/** Day-weighted mean of daily shapes (the ones a prior borrows), or null when there are none. */
export function combineDailyShapes(shapes: ReadonlyArray<{ shape: DailyShape; days: number }>): { shape: number[]; days: number } | null {
  const total = shapes.reduce((s, x) => s + x.days, 0);
  if (shapes.length === 0 || !(total > 0)) return null;
  const out = new Array<number>(24).fill(0);
  for (const { shape, days } of shapes) for (let h = 0; h < 24; h++) out[h] += (shape[h] * days) / total;
  return { shape: normalise(out), days: total };
}

/**
 * The level between the prior's and the data's, `priorWeight` of the way to the prior in log space
 * (a weighted geometric mean). A user base is a guess off by a factor, not by an amount: a prior
 * 10× too high then weighs as much as one 10× too low, and data pulls it back as fast (a linear
 * blend left a prior 90× too high 46× too high after 6 h on the cold-start protocol). When either
 * level is 0 there is no ratio to blend: linear.
 */
export function blendLevels(priorLevel: number, dataLevel: number, priorWeight: number): number {
  if (priorWeight >= 1) return priorLevel;
  if (priorWeight <= 0) return dataLevel;
  if (priorLevel > 0 && dataLevel > 0) return Math.exp(priorWeight * Math.log(priorLevel) + (1 - priorWeight) * Math.log(dataLevel));
  return priorWeight * priorLevel + (1 - priorWeight) * dataLevel;
}

function blendShapes(a: DailyShape, b: DailyShape, weightOfB: number): number[] {
  return normalise(a.map((x, h) => x * (1 - weightOfB) + b[h] * weightOfB));
}

/**
 * The prior, moved towards whatever history there is (`history` on the forecast's grid, so a
 * 1-minute history is summed into the forecast's steps before it is compared with the prior):
 * - daily shape: the app type's in local time, blended with a borrowed shape and then the
 *   series' own shape by the days each rests on;
 * - level: the prior's (the peak over the shape's peak) blended with the data's (observed over
 *   what the shape expected at those times) by the hours of history (`PRIOR_HALF_WEIGHT_HOURS`),
 *   in log space (`blendLevels`).
 * `priorWeight` is the prior's share of the level. Never `forecastOnly` (nothing proved it worse
 * than a baseline); intervals are wide and `confidence` low.
 */
export function priorForecast(
  input: PriorInput,
  at: { startMs: number; stepMs: number; horizon: number },
  history?: Pick<RegularSeries, 'startMs' | 'stepMs' | 'values'> | null,
): DemandForecast {
  const { startMs, stepMs, horizon } = at;
  const { weekly } = PriorShapes[input.appType];
  let daily: DailyShape = PriorShapes[input.appType].daily;
  if (input.borrowed && input.borrowed.days > 0) daily = blendShapes(daily, input.borrowed.shape, input.borrowed.days / (input.borrowed.days + SHAPE_HALF_WEIGHT_DAYS));
  const values = history && history.values.length > 0 ? history : null;
  const own = values ? dailyShapeOf(values, input.utcOffsetHours) : null;
  if (own) daily = blendShapes(daily, own.shape, own.days / (own.days + SHAPE_HALF_WEIGHT_DAYS / 2));

  // The shape's peak over a week, sampled hourly: the user base's peak sits there.
  let peakShape = 0;
  for (let h = 0; h < 7 * 24; h++) peakShape = Math.max(peakShape, shapeAt(daily, weekly, 0, h * HOUR_MS + HOUR_MS / 2));
  const priorLevel = (Math.max(0, input.peakRequestsPerSecond ?? 0) * (stepMs / 1000)) / Math.max(peakShape, 1e-9);

  let level = priorLevel;
  let priorWeight = 1;
  if (values) {
    let observed = 0;
    let expected = 0;
    for (let i = 0; i < values.values.length; i++) {
      const v = values.values[i];
      if (!Number.isFinite(v)) continue;
      observed += v;
      expected += shapeAt(daily, weekly, input.utcOffsetHours, values.startMs + i * values.stepMs + values.stepMs / 2);
    }
    const hours = (values.values.length * values.stepMs) / HOUR_MS;
    if (expected > 0) {
      priorWeight = input.peakRequestsPerSecond === null ? 0 : PRIOR_HALF_WEIGHT_HOURS / (PRIOR_HALF_WEIGHT_HOURS + hours);
      level = blendLevels(priorLevel, observed / expected, priorWeight);
    }
  }
  const point = Float64Array.from({ length: horizon }, (_, h) => level * shapeAt(daily, weekly, input.utcOffsetHours, startMs + h * stepMs + stepMs / 2));
  return {
    startMs,
    stepMs,
    horizon,
    quantiles: applyCalibration(point, WideRelativeCalibration),
    point,
    model: 'prior',
    selectedModel: 'prior',
    fallbackErrors: [],
    mase: null,
    selectedAt: null,
    confidence: 'low',
    forecastOnly: false,
    priorWeight,
  };
}
