import { seededRandom } from '@shardcast/telemetry';
import { intervalCoverage } from './accuracy';
import { assignTiers, pooledCalibrationOf, pooledCalibrations, pooledForecast, pooledHoldout, pooledPoint, pooledShapeOf, PooledTierLearner, volumeBand } from './forecast-tiers';
import { DAY_MS, HOUR_MS, MINUTE_MS } from './series';

const STEP = 5 * MINUTE_MS;
const PER_DAY = DAY_MS / STEP;
/** A day shape: quiet at night, peak in the afternoon (local time), mean 1. */
const SHAPE = Array.from({ length: 24 }, (_, h) => 1 + 0.8 * Math.sin(((h - 9) / 24) * 2 * Math.PI));

/** Poisson draw (Knuth for small means, normal approximation above 30). */
function poisson(random: () => number, mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

/** Counts per 5 minutes with `mean` per step, shaped by SHAPE in local time (UTC + offset). */
function countsSeries(random: () => number, mean: number, days: number, offsetHours = 0): { startMs: number; stepMs: number; values: Float64Array } {
  const startMs = Date.parse('2026-01-05T00:00:00Z');
  const values = Float64Array.from({ length: days * PER_DAY }, (_, i) => {
    const h = Math.floor(((((startMs + i * STEP + offsetHours * HOUR_MS) % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS);
    return poisson(random, mean * SHAPE[h]);
  });
  return { startMs, stepMs: STEP, values };
}

describe('forecast tiers', () => {
  it('puts the heaviest K series in the full tier and keeps a full one while it stays within the band', () => {
    const volumes = new Map(Object.entries({ a: 100, b: 90, c: 80, d: 79, e: 10 }));
    const first = assignTiers(volumes, new Map(), { fullSeries: 2, hysteresis: 0.5 });
    expect([...first].filter(([, t]) => t === 'full').map(([id]) => id)).toEqual(['a', 'b']);
    // c overtakes b; b, ranked third, is within 2 × 1.5 = 3 and stays; c joins.
    const second = assignTiers(new Map(Object.entries({ a: 100, b: 80, c: 90, d: 79, e: 10 })), first, { fullSeries: 2, hysteresis: 0.5 });
    expect(second.get('b')).toBe('full');
    expect(second.get('c')).toBe('full');
    // b falls to fourth: out of the band, pooled; the tail series that grew to the top moves up.
    const third = assignTiers(new Map(Object.entries({ a: 100, b: 50, c: 90, d: 79, e: 1000 })), second, { fullSeries: 2, hysteresis: 0.5 });
    expect(third.get('b')).toBe('pooled');
    expect(third.get('e')).toBe('full');
    expect([...third.values()].filter((t) => t === 'full')).toHaveLength(3);
    // Without hysteresis exactly K; K = 0 pools everything; ties break by id.
    expect([...assignTiers(volumes, first, { fullSeries: 2, hysteresis: 0 }).values()].filter((t) => t === 'full')).toHaveLength(2);
    expect([...assignTiers(volumes, first, { fullSeries: 0 }).values()].every((t) => t === 'pooled')).toBe(true);
    expect(assignTiers(new Map([['y', 1], ['x', 1]]), new Map(), { fullSeries: 1 }).get('x')).toBe('full');
  });

  it('forecasts level × shape in local time, the shape from the pool for a sparse series and its own for a heavy one', () => {
    const flat = new Array(24).fill(1);
    // A heavy series peaking at 15:00 local in UTC+3: its own shape wins over a flat pool.
    const heavy = countsSeries(seededRandom(1), 200, 7, 3);
    const point = pooledPoint(heavy, 3, flat, { horizon: PER_DAY });
    const startMs = heavy.startMs + heavy.values.length * STEP;
    const atLocalHour = (h: number) => point[Math.round((((h - 3 + 24) % 24) * HOUR_MS) / STEP) + 6];
    expect(atLocalHour(15) / atLocalHour(3)).toBeGreaterThan(5);
    expect(startMs % DAY_MS).toBe(0);
    const mean = point.reduce((a, b) => a + b, 0) / point.length;
    expect(mean).toBeGreaterThan(190);
    expect(mean).toBeLessThan(210);
    // A series of 0.05 requests per step: a few dozen requests, so its shape is the pool's.
    const sparse = countsSeries(seededRandom(2), 0.05, 7, 3);
    const fromPool = pooledPoint(sparse, 3, SHAPE, { horizon: PER_DAY });
    expect(fromPool[Math.round((12 * HOUR_MS) / STEP)] / fromPool[0]).toBeCloseTo(SHAPE[15] / SHAPE[3], 0);
    // The same with a flat pool is nearly flat: the pool, not the noise, decides.
    const flatPool = pooledPoint(sparse, 3, flat, { horizon: PER_DAY });
    expect(Math.max(...flatPool) / Math.min(...flatPool)).toBeLessThan(1.3);
  });

  it('calibrates quantiles pooled per volume band so the 90 % interval covers about 90 % of new data', () => {
    const random = seededRandom(3);
    const horizon = 2 * PER_DAY;
    const series = Array.from({ length: 240 }, (_, i) => countsSeries(random, [0.3, 3, 30][i % 3], 9, i % 5));
    // Calibrate on holdouts of the first 7 days, score on the last 2 days, unseen.
    const history = series.map((s) => ({ ...s, values: s.values.subarray(0, 7 * PER_DAY) }));
    const holdouts = history.map((s, i) => pooledHoldout(s, i % 5, SHAPE, { horizon })!);
    const calibrations = pooledCalibrations(holdouts);
    expect(calibrations.holdouts.slice(1, 4)).toEqual([80, 80, 80]);
    let inside = 0;
    let n = 0;
    history.forEach((s, i) => {
      const f = pooledForecast(s, i % 5, SHAPE, calibrations, { horizon, now: new Date(0) });
      expect(f.model).toBe('pooled');
      expect(f.confidence).toBe('high');
      const actual = series[i].values.subarray(7 * PER_DAY);
      inside += intervalCoverage(actual, f.quantiles.p05, f.quantiles.p95) * actual.length;
      n += actual.length;
    });
    expect(inside / n).toBeGreaterThan(0.86);
    expect(inside / n).toBeLessThan(0.96);
  });

  it('falls back to a neighbouring band, then to wide uncalibrated intervals', () => {
    expect(volumeBand(0.05)).toBe(0);
    expect(volumeBand(5)).toBe(2);
    expect(volumeBand(1e9)).toBe(4);
    const buckets = [{ fromStep: 0, toStep: 1, residuals: 40, offsets: { p05: -1, p10: -0.5, p50: 0, p90: 0.5, p95: 1, p99: 2 } }];
    const only2 = { bands: [null, null, buckets, null, null], holdouts: [0, 0, 40, 0, 0] };
    expect(pooledCalibrationOf(only2, 500)).toMatchObject({ calibrated: true, calibration: { mode: 'scaled', floor: 50 } });
    expect(pooledCalibrationOf(null, 5)).toMatchObject({ calibrated: false, calibration: { mode: 'relative' } });
  });

  it('reports the holdout MASE where the series has a scale, none for an all-zero history', () => {
    const f = pooledForecast(countsSeries(seededRandom(4), 20, 7), 0, SHAPE, null, { horizon: PER_DAY, now: new Date(0) });
    expect(f.mase).toBeGreaterThan(0.3);
    expect(f.mase).toBeLessThan(1.5);
    expect(f.confidence).toBe('low');
    const zeros = { startMs: 0, stepMs: STEP, values: new Float64Array(7 * PER_DAY) };
    const z = pooledForecast(zeros, 0, SHAPE, null, { horizon: PER_DAY, now: new Date(0) });
    expect(z.mase).toBeNull();
    expect(Math.max(...z.quantiles.p99)).toBe(0);
  });

  it('learns the pooled state series by series as a pass runs: the same calibration and shape as at once, memory bounded by a sample per band', () => {
    const random = seededRandom(5);
    const horizon = 2 * PER_DAY;
    const series = Array.from({ length: 60 }, (_, i) => ({ grid: countsSeries(random, i % 2 ? 3 : 30, 7, i % 3), utcOffsetHours: i % 3 }));
    const holdouts = series.map((s) => pooledHoldout(s.grid, s.utcOffsetHours, SHAPE, { horizon })!);
    const learner = new PooledTierLearner(1000);
    series.forEach((s, i) => learner.add('api', s.grid, s.utcOffsetHours, holdouts[i]));
    const state = learner.result(new Date(0))!;
    expect(state.series).toBe(60);
    expect(state.calibrations).toEqual(pooledCalibrations(holdouts));
    const shape = pooledShapeOf(series)!;
    state.shapes.api.forEach((v, h) => expect(v).toBeCloseTo(shape[h], 9));
    // The learnt shape is SHAPE in local time, whatever the offsets.
    expect(state.shapes.api[15] / state.shapes.api[3]).toBeGreaterThan(5);
    // At most `perBand` holdouts kept per band: 30 series in each of two bands, 10 kept.
    const bounded = new PooledTierLearner(10);
    series.forEach((s, i) => bounded.add('api', s.grid, s.utcOffsetHours, holdouts[i]));
    expect(bounded.result(new Date(0), 5)!.calibrations.holdouts).toEqual([0, 0, 10, 10, 0]);
    expect(new PooledTierLearner().result(new Date(0))).toBeNull();
  });
});
