import fc from 'fast-check';
import { coldStartForecast } from './cold-start';
import { AppTypes, Tiers } from './domain-profile';
import { QuantileKeys } from './conformal-calibration';
import { HOUR_MS, MINUTE_MS } from './series';

const startMs = Date.UTC(2026, 0, 1);

describe('cold start', () => {
  it('gives a low-confidence, forecast-only prior with wide intervals', () => {
    const f = coldStartForecast({ appType: 'api', tier: 'pro', startMs, stepMs: 5 * MINUTE_MS, horizon: 576 });
    expect(f.confidence).toBe('low');
    expect(f.forecastOnly).toBe(true);
    expect(f.model).toBe('cold-start');
    expect(f.quantiles.p50).toHaveLength(576);
    for (let h = 0; h < 576; h++) {
      expect(f.quantiles.p90[h]).toBeGreaterThanOrEqual(2 * f.quantiles.p50[h]);
      expect(f.quantiles.p10[h]).toBeLessThanOrEqual(0.5 * f.quantiles.p50[h]);
    }
    // Peaks at the app type's peak hour (15 h UTC for APIs), lowest 12 h later.
    const at = (hour: number) => f.quantiles.p50[(hour * HOUR_MS) / (5 * MINUTE_MS)];
    expect(at(15)).toBeGreaterThan(at(3));
  });

  it('scales with the tier and moves towards the observed level as history accrues', () => {
    const base = { appType: 'static' as const, startMs, stepMs: HOUR_MS, horizon: 24 };
    const free = coldStartForecast({ ...base, tier: 'free' });
    const enterprise = coldStartForecast({ ...base, tier: 'enterprise' });
    expect(enterprise.quantiles.p50[0]).toBeGreaterThan(free.quantiles.p50[0]);
    const mean = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const history = (n: number) => ({ timestamps: Array.from({ length: n }, (_, i) => startMs - (n - i) * HOUR_MS), values: new Array(n).fill(50_000) });
    const some = coldStartForecast({ ...base, tier: 'free', history: history(6) });
    const more = coldStartForecast({ ...base, tier: 'free', history: history(72) });
    expect(mean(some.quantiles.p50)).toBeGreaterThan(mean(free.quantiles.p50));
    expect(mean(more.quantiles.p50)).toBeGreaterThan(mean(some.quantiles.p50));
    expect(mean(more.quantiles.p50)).toBeLessThan(50_000);
  });

  it('is monotone and non-negative for every app type and tier (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...AppTypes), fc.constantFrom(...Tiers), fc.integer({ min: 1, max: 200 }), (appType, tier, horizon) => {
        const f = coldStartForecast({ appType, tier, startMs, stepMs: 5 * MINUTE_MS, horizon });
        for (let h = 0; h < horizon; h++) {
          let previous = 0;
          for (const k of QuantileKeys) {
            expect(f.quantiles[k][h]).toBeGreaterThanOrEqual(previous);
            previous = f.quantiles[k][h];
          }
        }
      }),
    );
  });
});

describe('cold start through the production path', () => {
  it('uses the prior when the selection had no backtest, and for an empty series', async () => {
    const { selectModel } = await import('./select-model');
    const { forecast } = await import('./forecast');
    const { failingRunner } = await import('./test-doubles.spec');
    const series = { timestamps: [startMs, startMs + HOUR_MS], values: [10, 12] };
    const selection = await selectModel(series, { horizon: 24, now: new Date(startMs) }, failingRunner());
    const coldStart = { appType: 'api' as const, tier: 'free' as const, startMs };
    const f = await forecast(series, selection, failingRunner(), { coldStart });
    expect(f.model).toBe('cold-start');
    expect(f.startMs).toBe(startMs + 2 * HOUR_MS);
    expect(f.confidence).toBe('low');
    const empty = await forecast({ timestamps: [], values: [] }, selection, failingRunner(), { coldStart });
    expect(empty.startMs).toBe(startMs);
    expect(empty.horizon).toBe(24);
    await expect(forecast({ timestamps: [], values: [] }, selection, failingRunner())).rejects.toThrow(/FORECAST_NO_HISTORY/);
  });
});
