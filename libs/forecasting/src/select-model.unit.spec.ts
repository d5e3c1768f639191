import { backtest, rollingOrigins } from './backtest';
import { WideRelativeCalibration } from './conformal-calibration';
import { forecast } from './forecast';
import { ModelFitError, ModelRunner } from './model-task';
import { selectModel } from './select-model';
import { DAY_MS, HOUR_MS, regularize } from './series';
import { failingRunner } from './test-doubles.spec';

const now = new Date('2026-01-01T00:00:00Z');
const hourly = (values: number[], stepMs = HOUR_MS) => ({ timestamps: values.map((_, i) => i * stepMs), values });

describe('backtest and model selection', () => {
  it('places rolling origins so each leaves a full horizon, skipping those with too little history', () => {
    expect(rollingOrigins(20, 4, 3, 2, 1)).toEqual([12, 14, 16]);
    expect(rollingOrigins(20, 4, 10, 5, 6)).toEqual([6, 11, 16]);
  });

  it('scores seasonal naive on a linear trend with MASE exactly 1 (hand-checked)', async () => {
    // Step 6 h → daily period 4. Seasonal naive is off by 4 at every step; so is its in-sample MAE.
    const grid = regularize(hourly(Array.from({ length: 40 }, (_, i) => i), 6 * HOUR_MS), 6 * HOUR_MS);
    const result = await backtest(grid, ['snaive-daily', 'naive'], { horizon: 2, origins: 3, spacing: 2, windowPoints: 100 }, failingRunner());
    expect(result.origins).toEqual([34, 36, 38]);
    expect(result.scale).toBe(4);
    expect(result.candidates.get('snaive-daily')!.mase).toBe(1);
    // Naive (last value) is off by 1 then 2: MAE 1.5 → MASE 0.375.
    expect(result.candidates.get('naive')!.mase).toBe(0.375);
    expect(Array.from(result.candidates.get('snaive-daily')!.residuals[0])).toEqual([4, 4]);
  });

  it('picks the best candidate, falls back past models that throw, and records the date', async () => {
    const values = Array.from({ length: 24 * 21 }, (_, i) => 100 + 50 * Math.sin((2 * Math.PI * i) / 24) + (i % 7));
    const runner = failingRunner();
    const selection = await selectModel(hourly(values), { horizon: 24, now }, runner);
    expect(runner.calls.length).toBeGreaterThan(0);
    expect(selection.scores.mstl).toBeNull();
    expect(selection.scores.prophet).toBeNull();
    expect(['snaive-daily', 'snaive-weekly']).toContain(selection.model);
    expect(selection.selectedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(selection.confidence).toBe('high');
    expect(selection.calibrations[selection.model]?.mode).toBe('scaled');

    // The production path falls back when the stored model fails now.
    const f = await forecast(hourly(values), { ...selection, model: 'mstl', fallbacks: ['snaive-weekly'] }, runner);
    expect(f.model).toBe('snaive-weekly');
    expect(f.fallbackErrors[0]).toMatch(/^mstl: .*less than two periods/);
    expect(f.confidence).toBe('low');
    expect(f.horizon).toBe(24);
    expect(f.startMs).toBe(values.length * HOUR_MS);
  });

  it('calibrates intervals from three backtest origins or more; from fewer, they are the wide ones of a series with no backtest', async () => {
    const values = Array.from({ length: 24 * 21 }, (_, i) => 100 + 50 * Math.sin((2 * Math.PI * i) / 24) + (i % 7));
    const two = await selectModel(hourly(values), { horizon: 24, origins: 2, now }, failingRunner());
    expect(two.origins).toBe(2);
    expect(two.mase).not.toBeNull(); // the model is still chosen on the backtest it has
    expect(two.calibrations[two.model]).toEqual(WideRelativeCalibration);
    expect(two.confidence).toBe('low');
    const three = await selectModel(hourly(values), { horizon: 24, origins: 3, now }, failingRunner());
    expect(three.origins).toBe(3);
    expect(three.calibrations[three.model]?.mode).toBe('scaled');
    expect(three.confidence).toBe('high');
  });

  it('survives a runner that rejects with non-Error values and WebAssembly traps', async () => {
    const runner: ModelRunner = {
      run: async (task) => {
        if (task.kind === 'prophet') throw new ModelFitError('prophet: RuntimeError: unreachable', true);
        throw 'Fit error: augurs threw a string';
      },
    };
    const values = Array.from({ length: 24 * 10 }, (_, i) => 10 + (i % 24));
    const selection = await selectModel(hourly(values), { horizon: 24, now }, runner);
    expect(selection.model).toMatch(/^snaive-/);
    const f = await forecast(hourly(values), { ...selection, model: 'median-4', fallbacks: [] }, runner);
    // median-4 still works from its two seasonal-naive members.
    expect(f.model).toBe('median-4');
  });

  it('handles a flat zero series: zero forecast, zero-width intervals, no NaN', async () => {
    const values = new Array(24 * 15).fill(0);
    const selection = await selectModel(hourly(values), { horizon: 24, now }, failingRunner());
    const f = await forecast(hourly(values), selection, failingRunner());
    for (const q of Object.values(f.quantiles)) expect(Array.from(q).every((v) => v === 0)).toBe(true);
    expect(Number.isFinite(selection.mase!)).toBe(true);
  });

  it('handles a series with one point: low confidence, not forecast-only (nothing proved it worse), the last value with wide intervals', async () => {
    const series = { timestamps: [Date.UTC(2026, 0, 1)], values: [42] };
    const selection = await selectModel(series, { horizon: 12, now }, failingRunner());
    expect(selection.model).toBe('naive');
    expect(selection.confidence).toBe('low');
    expect(selection.forecastOnly).toBe(false);
    expect(selection.mase).toBeNull();
    const f = await forecast(series, selection, failingRunner());
    expect(f.quantiles.p50[0]).toBe(42);
    expect(f.quantiles.p90[11]).toBeGreaterThan(42 * 2);
    expect(f.quantiles.p10[0]).toBeLessThan(42 / 2);
    expect(f.stepMs).toBe(5 * 60_000);
  });

  it('marks a series forecast-only when even the best model is worse than in-sample seasonal naive', async () => {
    // Day-to-day noise far larger than the daily shape: out of sample every model loses.
    let x = 1;
    const values = Array.from({ length: 24 * 20 }, (_, i) => {
      x = (x * 48271) % 2147483647;
      return (i < 24 * 14 ? 0 : 1000) + (x % 100);
    });
    const selection = await selectModel(hourly(values), { horizon: 24, now, candidates: ['snaive-daily'] }, failingRunner());
    expect(selection.mase!).toBeGreaterThan(1);
    expect(selection.forecastOnly).toBe(true);
  });

  it('resamples minute counts to the default 5-minute step, or to a step asked for', async () => {
    const minutes = { timestamps: Array.from({ length: 60 * 24 * 3 }, (_, i) => i * 60_000), values: new Array(60 * 24 * 3).fill(2) };
    const selection = await selectModel(minutes, { now, candidates: ['snaive-daily'] }, failingRunner());
    expect(selection.stepMs).toBe(5 * 60_000);
    expect(selection.horizon).toBe(576);
    const f = await forecast(minutes, selection, failingRunner(), { horizon: 3 });
    expect(Array.from(f.point)).toEqual([10, 10, 10]);
    const hourly = await selectModel(minutes, { now, stepMs: HOUR_MS, candidates: ['snaive-daily'] }, failingRunner());
    expect(hourly.horizon).toBe(48);
    expect((await forecast(minutes, hourly, failingRunner(), { horizon: 1 })).point[0]).toBe(120);
  });

  it('uses only history before the last point (the forecast starts one step after it)', async () => {
    const values = Array.from({ length: 3 * 24 }, (_, i) => i % 24);
    const selection = await selectModel(hourly(values), { horizon: 24, now, candidates: ['snaive-daily'] }, failingRunner());
    const f = await forecast(hourly(values), selection, failingRunner(), { horizon: 48 });
    expect(f.horizon).toBe(48);
    expect(Array.from(f.quantiles.p50.subarray(0, 3))).toEqual([0, 1, 2]);
    expect(f.startMs).toBe(3 * DAY_MS);
  });
});
