import { intervalCoverage, mase, meanAbsoluteError, naiveScale, pinballLoss, quantileCoverage, wape } from './accuracy';

describe('accuracy', () => {
  it('scales MAE by the in-sample seasonal-naive MAE (hand-checked)', () => {
    // Seasonal naive with period 2 on [1, 3, 2, 6]: |2 − 1| and |6 − 3| → MAE 2.
    const history = [1, 3, 2, 6];
    expect(naiveScale(history, 2)).toBe(2);
    // Errors 1 and 3 → MAE 2 → MASE 1.
    expect(meanAbsoluteError([10, 10], [9, 13])).toBe(2);
    expect(mase([10, 10], [9, 13], history, 2)).toBe(1);
    expect(mase([10, 10], [10, 11], history, 2)).toBe(0.25);
  });

  it('never divides by zero on a flat history', () => {
    const scale = naiveScale([0, 0, 0, 0, 0], 2);
    expect(scale).toBeGreaterThan(0);
    expect(mase([0, 0], [0, 0], [0, 0, 0, 0], 2)).toBe(0);
  });

  it('uses a shorter lag when the history is shorter than the period', () => {
    // Period 4 > 3 values: the lag halves to 2, so |4 − 1| = 3.
    expect(naiveScale([1, 2, 4], 4)).toBe(3);
  });

  it('computes pinball loss on both sides of the quantile', () => {
    // q = 0.9: under-forecast by 10 costs 9, over-forecast by 10 costs 1.
    expect(pinballLoss([10], [0], 0.9)).toBeCloseTo(9);
    expect(pinballLoss([0], [10], 0.9)).toBeCloseTo(1);
    expect(pinballLoss([5, 5], [5, 5], 0.1)).toBe(0);
  });

  it('counts interval coverage with the bounds included', () => {
    expect(intervalCoverage([1, 2, 3, 4], [1, 1, 1, 1], [3, 3, 3, 3])).toBe(0.75);
  });

  it('counts one-sided quantile coverage with the bound included', () => {
    expect(quantileCoverage([1, 2, 3, 4], [2, 2, 2, 5])).toBe(0.75);
    expect(quantileCoverage([], [])).toBeNaN();
  });

  it('weighs absolute errors by the total actual (WAPE, hand-checked)', () => {
    // Errors 1 + 3 + 0 = 4 over actual 2 + 10 + 8 = 20.
    expect(wape([2, 10, 8], [3, 7, 8])).toBeCloseTo(0.2, 12);
    // A big series and a small one count by their volume, not per step as MAPE would.
    expect(wape([100, 1], [100, 2])).toBeCloseTo(1 / 101, 12);
    expect(wape([0, 0], [1, 1])).toBeNaN();
  });

  it('rejects forecasts of the wrong length', () => {
    expect(() => mase([1, 2], [1], [1, 2, 3], 1)).toThrow(RangeError);
    expect(() => wape([1, 2], [1])).toThrow(RangeError);
    expect(() => quantileCoverage([1, 2], [1])).toThrow(RangeError);
  });
});
