import { coarsen, fillGaps, HOUR_MS, inferStepMs, MINUTE_MS, onGrid, refine, regularize } from './series';

const t0 = Date.UTC(2015, 1, 26, 21, 42, 53);
const at = (i: number, stepMs = 5 * MINUTE_MS): number => t0 + i * stepMs;

describe('series preparation', () => {
  it('infers the step from the median gap, ignoring gaps and duplicates', () => {
    expect(inferStepMs([at(0), at(1), at(2), at(5), at(6), at(6)])).toBe(5 * MINUTE_MS);
  });

  it('keeps the phase of timestamps stamped off the hour', () => {
    const grid = regularize({ timestamps: [at(0), at(1), at(2)], values: [1, 2, 3] }, 5 * MINUTE_MS);
    expect(grid.startMs).toBe(t0);
    expect(Array.from(grid.values)).toEqual([1, 2, 3]);
  });

  it('fills a short gap linearly and marks it unobserved', () => {
    const grid = regularize({ timestamps: [at(0), at(1), at(4)], values: [10, 20, 50] }, 5 * MINUTE_MS);
    expect(Array.from(grid.values)).toEqual([10, 20, 30, 40, 50]);
    expect(Array.from(grid.observed!)).toEqual([1, 1, 0, 0, 1]);
    expect(grid.filled).toBe(2);
  });

  it('fills a long gap from one season earlier when it can', () => {
    const v = Float64Array.from([1, 2, 3, 4, NaN, NaN, NaN, 8]);
    fillGaps(v, 4);
    expect(Array.from(v)).toEqual([1, 2, 3, 4, 1, 2, 3, 8]);
  });

  it('ignores NaN and unsorted input, and fills leading or trailing gaps with the nearest value', () => {
    const grid = regularize({ timestamps: [at(2), at(0), at(1)], values: [3, NaN, 2] }, 5 * MINUTE_MS);
    expect(Array.from(grid.values)).toEqual([2, 3]);
    const v = Float64Array.from([NaN, 5, NaN]);
    fillGaps(v);
    expect(Array.from(v)).toEqual([5, 5, 5]);
  });

  it('handles a series with one point and an empty series', () => {
    const one = regularize({ timestamps: [t0], values: [7] }, 5 * MINUTE_MS);
    expect(Array.from(one.values)).toEqual([7]);
    expect(regularize({ timestamps: [], values: [] }, 5 * MINUTE_MS).values.length).toBe(0);
  });

  it('resamples counts to a coarser step by summing, scaling up partly observed steps', () => {
    const ts = Array.from({ length: 24 }, (_, i) => at(i));
    const grid = regularize({ timestamps: ts.filter((_, i) => i !== 3), values: ts.map(() => 1).slice(1) }, HOUR_MS);
    expect(Array.from(grid.values)).toEqual([12, 12]);
    const mean = regularize({ timestamps: ts, values: ts.map(() => 50) }, HOUR_MS, { aggregation: 'mean' });
    expect(Array.from(mean.values)).toEqual([50, 50]);
  });

  it('coarsens to block means aligned at the end and refines back preserving a constant', () => {
    expect(Array.from(coarsen(Float64Array.from([9, 1, 2, 3, 4]), 2))).toEqual([1.5, 3.5]);
    expect(Array.from(refine([4, 4], 3, 6, 4))).toEqual([4, 4, 4, 4, 4, 4]);
    const r = refine([10, 20], 2, 4, 0);
    expect(r[0]).toBeCloseTo(7.5);
    expect(r[3]).toBeCloseTo(20);
  });
});

describe('regularize and inferStepMs on series in order (the stored history) and out of order', () => {
  it('give the same grid whether the points come in time order or shuffled (equal timestamps keep their order)', () => {
    const t0 = Date.UTC(2026, 0, 1);
    const ordered = { timestamps: [0, 1, 1, 2, 5, 6, 6, 9].map((i) => t0 + i * 60_000), values: [1, 2, 3, 4, 5, 6, 7, 8] };
    const order = [3, 0, 7, 1, 5, 2, 4, 6]; // 1 before 2 and 5 before 6: the duplicates' own order
    const shuffled = { timestamps: order.map((i) => ordered.timestamps[i]), values: order.map((i) => ordered.values[i]) };
    expect(regularize(shuffled, 120_000, { seasonPeriod: 3 })).toEqual(regularize(ordered, 120_000, { seasonPeriod: 3 }));
    expect(inferStepMs(shuffled.timestamps)).toBe(inferStepMs(ordered.timestamps));
  });

  it('infer the step of an evenly spaced series, of an uneven one (median gap) and of one point', () => {
    expect(inferStepMs([0, 300_000, 600_000, 900_000])).toBe(300_000);
    expect(inferStepMs([0, 60_000, 120_000, 420_000, 480_000])).toBe(60_000);
    expect(inferStepMs([0, NaN, 60_000, 120_000])).toBe(60_000);
    expect(inferStepMs([42])).toBe(300_000);
  });

  it('takes a series already on the grid as it is, the same values regularize gives, and refuses one that is not', () => {
    const even = { timestamps: [0, 300_000, 600_000, 900_000], values: [1, 0, 2, 5] };
    const fast = onGrid(even, 300_000)!;
    const slow = regularize(even, 300_000);
    expect(Array.from(fast.values)).toEqual(Array.from(slow.values));
    expect(fast.startMs).toBe(slow.startMs);
    expect(onGrid({ timestamps: [0, 300_000, 900_000], values: [1, 2, 3] }, 300_000)).toBeNull();
    expect(onGrid({ timestamps: [0, 60_000], values: [1, 2] }, 300_000)).toBeNull();
    expect(onGrid({ timestamps: [0, 300_000], values: [1, NaN] }, 300_000)).toBeNull();
    expect(onGrid({ timestamps: [], values: [] }, 300_000)).toBeNull();
  });
});
