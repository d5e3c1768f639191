import fc from 'fast-check';
import { intervalCoverage } from './accuracy';
import { applyCalibration, calibrate, Calibration, conformalQuantile, QuantileKeys } from './conformal-calibration';
import { forecast } from './forecast';
import { selectModel } from './select-model';
import { HOUR_MS } from './series';
import { failingRunner, seededNormal } from './test-doubles.spec';

describe('conformal calibration', () => {
  it('takes the finite-sample conformal rank', () => {
    const sorted = Array.from({ length: 19 }, (_, i) => i + 1);
    // (19 + 1) × 0.9 = 18 → 18th value; (20) × 0.1 = 2 → 2nd value.
    expect(conformalQuantile(sorted, 0.9)).toBe(18);
    expect(conformalQuantile(sorted, 0.1)).toBe(2);
    expect(conformalQuantile(sorted, 0.5)).toBe(10);
    expect(conformalQuantile([], 0.9)).toBe(0);
  });

  it('gives a repeated point the offsets of its own bucket', () => {
    // Steps that repeat the point before them reuse its quantiles, but not across a bucket boundary.
    const calibration: Calibration = {
      mode: 'scaled',
      floor: 1,
      buckets: [
        { fromStep: 0, toStep: 3, residuals: 40, offsets: { p05: -0.5, p10: -0.4, p50: 0, p90: 0.4, p95: 0.5, p99: 1 } },
        { fromStep: 3, toStep: 6, residuals: 40, offsets: { p05: -0.8, p10: -0.6, p50: 0, p90: 0.6, p95: 0.8, p99: 2 } },
      ],
    };
    const point = [10, 10, 10, 10, 10, 4, 4];
    const q = applyCalibration(point, calibration);
    point.forEach((p, h) => {
      const offsets = calibration.buckets[h < 3 ? 0 : 1].offsets;
      for (const k of QuantileKeys) expect(q[k][h]).toBeCloseTo(Math.max(0, p + offsets[k] * (p + 1)), 12);
    });
  });

  it('reaches nominal coverage on residuals of a known distribution', () => {
    const normal = seededNormal(42);
    const residuals = Array.from({ length: 16 }, () => Float64Array.from({ length: 48 }, (_, h) => normal() * (1 + h / 24)));
    const calibration = calibrate(residuals);
    expect(calibration.buckets.length).toBeGreaterThan(1);
    const point = new Float64Array(48).fill(1000);
    const q = applyCalibration(point, calibration);
    let in80 = 0;
    let in90 = 0;
    const draws = 400;
    for (let d = 0; d < draws; d++) {
      const actual = Float64Array.from({ length: 48 }, (_, h) => 1000 + normal() * (1 + h / 24));
      in80 += intervalCoverage(actual, q.p10, q.p90);
      in90 += intervalCoverage(actual, q.p05, q.p95);
    }
    expect(in80 / draws).toBeGreaterThan(0.76);
    expect(in80 / draws).toBeLessThan(0.86);
    expect(in90 / draws).toBeGreaterThan(0.87);
    expect(in90 / draws).toBeLessThan(0.95);
    // Later buckets are wider: the errors grew with the horizon.
    expect(q.p95[47] - q.p05[47]).toBeGreaterThan(q.p95[0] - q.p05[0]);
  });

  it('scaled calibration widens busy hours when errors grow with the level', () => {
    const normal = seededNormal(3);
    // Level alternates 200 / 1000 (night / peak); noise is 10 % of the level.
    const level = (h: number) => (h % 2 === 0 ? 200 : 1000);
    const points = Array.from({ length: 16 }, () => Float64Array.from({ length: 48 }, (_, h) => level(h)));
    const residuals = points.map((p) => p.map((v) => 0.1 * v * normal()));
    const coverageBy = (calibration: ReturnType<typeof calibrate>) => {
      const q = applyCalibration(points[0], calibration);
      const inside = [0, 0];
      for (let d = 0; d < 200; d++) {
        for (let h = 0; h < 48; h++) {
          const actual = level(h) * (1 + 0.1 * normal());
          if (actual >= q.p05[h] && actual <= q.p95[h]) inside[h % 2]++;
        }
      }
      return inside.map((n) => n / (200 * 24));
    };
    const [quiet, busy] = coverageBy(calibrate(residuals, { points }));
    const [quietAdditive, busyAdditive] = coverageBy(calibrate(residuals));
    // Both are nominal over all hours; additive offsets over-cover quiet hours and under-cover busy ones.
    expect((quietAdditive + busyAdditive) / 2).toBeGreaterThan(0.86);
    expect(quietAdditive).toBeGreaterThan(0.99);
    expect(busyAdditive).toBeLessThan(0.85);
    for (const coverage of [quiet, busy]) {
      expect(coverage).toBeGreaterThan(0.86);
      expect(coverage).toBeLessThan(0.96);
    }
  });

  it('covers ~90 % end to end: selection backtest, then forecasts from later origins (seeded)', async () => {
    const normal = seededNormal(7);
    const stepMs = HOUR_MS;
    const n = 24 * 60;
    const values = Array.from({ length: n }, (_, i) => 100 + 30 * Math.sin((2 * Math.PI * i) / 24) + 5 * normal());
    const timestamps = values.map((_, i) => Date.UTC(2024, 0, 1) + i * stepMs);
    const cut = n - 24 * 14;
    const runner = failingRunner([]);
    const selection = await selectModel(
      { timestamps: timestamps.slice(0, cut), values: values.slice(0, cut) },
      { horizon: 24, candidates: ['snaive-daily'], now: new Date(0) },
      runner,
    );
    expect(selection.model).toBe('snaive-daily');
    let in90 = 0;
    let in80 = 0;
    const origins = 14;
    for (let k = 0; k < origins; k++) {
      const o = cut + 24 * k;
      const f = await forecast({ timestamps: timestamps.slice(0, o), values: values.slice(0, o) }, selection, runner);
      const actual = values.slice(o, o + 24);
      in90 += intervalCoverage(actual, f.quantiles.p05, f.quantiles.p95) / origins;
      in80 += intervalCoverage(actual, f.quantiles.p10, f.quantiles.p90) / origins;
    }
    expect(in90).toBeGreaterThan(0.84);
    expect(in90).toBeLessThan(0.97);
    expect(in80).toBeGreaterThan(0.72);
    expect(in80).toBeLessThan(0.9);
  });

  it('always yields monotone, non-negative quantiles (property)', () => {
    const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true });
    const offsets = fc.record({ p05: finite, p10: finite, p50: finite, p90: finite, p95: finite, p99: finite });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(finite, fc.constant(Number.NaN)), { minLength: 1, maxLength: 50 }),
        fc.array(offsets, { minLength: 1, maxLength: 5 }),
        fc.constantFrom<Calibration['mode']>('additive', 'relative', 'scaled'),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (point, bucketOffsets, mode, floor) => {
          const calibration: Calibration = {
            mode,
            floor,
            buckets: bucketOffsets.map((o, i) => ({ fromStep: i * 10, toStep: (i + 1) * 10, residuals: 10, offsets: o })),
          };
          const q = applyCalibration(point, calibration);
          for (let h = 0; h < point.length; h++) {
            let previous = 0;
            for (const k of QuantileKeys) {
              expect(q[k][h]).toBeGreaterThanOrEqual(previous);
              previous = q[k][h];
            }
          }
        },
      ),
    );
  });
});
