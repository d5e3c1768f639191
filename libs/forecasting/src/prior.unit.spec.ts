import fc from 'fast-check';
import { DemandForecastSchema, forecastRate, QuantileLevels, TierPolicy } from '@shardcast/contracts';
import { AppTypes, defaultProfile } from './domain-profile';
import { toForecastPayload } from './forecast-payload';
import { forecast } from './forecast';
import { blendLevels, combineDailyShapes, dailyShapeOf, expectedPeak, priorForecast, registrationPrior } from './prior';
import { prepareSeries, selectModel } from './select-model';
import { failingRunner } from './test-doubles.spec';
import { DAY_MS, HOUR_MS, MINUTE_MS } from './series';

const startMs = Date.UTC(2026, 0, 5); // a Monday, 00:00 UTC
const STEP = 5 * MINUTE_MS;
const at = { startMs, stepMs: STEP, horizon: 576 };
const hourOfPeak = (p: Float64Array) => Math.floor((p.indexOf(Math.max(...p.subarray(0, 288))) * STEP) / HOUR_MS);

describe('the prior', () => {
  it('peaks at the user base, low confidence, never forecastOnly, all prior', () => {
    const f = priorForecast({ appType: 'webapp', peakRequestsPerSecond: 100, utcOffsetHours: 0 }, at);
    expect(f).toMatchObject({ confidence: 'low', forecastOnly: false, priorWeight: 1, model: 'prior' });
    const peakPerSecond = Math.max(...f.point) / (STEP / 1000);
    expect(peakPerSecond).toBeGreaterThan(95);
    expect(peakPerSecond).toBeLessThanOrEqual(100.0001);
  });

  it("follows each region's local time: the same app peaks about 9 h earlier (UTC) in Tokyo than in London", () => {
    const london = priorForecast({ appType: 'webapp', peakRequestsPerSecond: 10, utcOffsetHours: 0 }, at);
    const tokyo = priorForecast({ appType: 'webapp', peakRequestsPerSecond: 10, utcOffsetHours: 9 }, at);
    expect((hourOfPeak(london.point) - hourOfPeak(tokyo.point) + 24) % 24).toBe(9);
  });

  it('has a weekly shape by app type: an API is quieter on Sunday than on Monday, a stream is not', () => {
    const sum = (p: Float64Array, day: number) => p.subarray(day * 288, (day + 1) * 288).reduce((a, b) => a + b, 0);
    const week = { ...at, horizon: 7 * 288 };
    const api = priorForecast({ appType: 'api', peakRequestsPerSecond: 10, utcOffsetHours: 0 }, week).point;
    const streaming = priorForecast({ appType: 'streaming', peakRequestsPerSecond: 10, utcOffsetHours: 0 }, week).point;
    expect(sum(api, 6)).toBeLessThan(0.8 * sum(api, 0));
    expect(sum(streaming, 6)).toBeGreaterThan(sum(streaming, 0));
  });

  it('holds 1-minute history against 5-minute steps: the level is per forecast step, not per bucket', () => {
    // Six hours at a steady 30 requests per minute = 150 per 5-minute step; the prior says the same rate at peak.
    const n = 6 * 60;
    const history = { timestamps: Array.from({ length: n }, (_, i) => startMs - (n - i) * MINUTE_MS), values: new Array(n).fill(30) };
    const { grid } = prepareSeries(history, { stepMs: STEP });
    const input = { appType: 'websocket' as const, peakRequestsPerSecond: 0.5, utcOffsetHours: 0 };
    const f = priorForecast(input, at, grid);
    expect(f.priorWeight).toBeCloseTo(0.5, 6);
    const mean = f.point.reduce((a, b) => a + b, 0) / f.point.length;
    // The data's level alone, from the 5-minute sums: the blend sits between it and the prior, never ~5× below.
    const fromFiveMinuteHistory = priorForecast(input, at, prepareSeries({ timestamps: history.timestamps.filter((_, i) => i % 5 === 0), values: new Array(n / 5).fill(150) }, { stepMs: STEP }).grid);
    expect(mean).toBeCloseTo(fromFiveMinuteHistory.point.reduce((a, b) => a + b, 0) / f.point.length, 6);
    expect(mean).toBeGreaterThan(60);
    expect(mean).toBeLessThan(200);
  });

  it("holds 1-minute history against 5-minute steps on the service's path too (selectModel, then forecast with the prior)", async () => {
    const n = 6 * 60;
    const timestamps = Array.from({ length: n }, (_, i) => startMs - (n - i) * MINUTE_MS);
    const input = { appType: 'api' as const, peakRequestsPerSecond: 2, utcOffsetHours: -5 };
    const runner = failingRunner();
    const oneMinute = { timestamps, values: new Array(n).fill(30) };
    const selection = await selectModel(oneMinute, { now: new Date(startMs), stepMs: STEP, horizon: 576 }, runner);
    const f = await forecast(oneMinute, selection, runner, { horizon: 576, prior: input });
    expect(runner.calls).toEqual([]);
    expect(f).toMatchObject({ model: 'prior', startMs, stepMs: STEP, priorWeight: 0.5 });
    // The same demand as 5-minute sums gives the same forecast: 1-minute buckets are summed, not averaged.
    const fiveMinute = prepareSeries({ timestamps: timestamps.filter((_, i) => i % 5 === 0), values: new Array(n / 5).fill(150) }, { stepMs: STEP }).grid;
    const expected = priorForecast(input, at, fiveMinute);
    for (let h = 0; h < 576; h += 37) expect(f.point[h]).toBeCloseTo(expected.point[h], 6);
  });

  it('blends the levels in log space: a prior off by a factor is pulled back alike whichever way it is off', () => {
    expect(blendLevels(100, 1, 0.5)).toBeCloseTo(10, 9);
    const tooHigh = blendLevels(10 * 40, 40, 0.3) / 40;
    const tooLow = 40 / blendLevels(40 / 10, 40, 0.3);
    expect(tooHigh).toBeCloseTo(tooLow, 9);
    expect(tooHigh).toBeCloseTo(10 ** 0.3, 9);
    // No data yet or a prior without level: nothing to take a ratio of, a linear blend.
    expect(blendLevels(100, 0, 0.25)).toBe(25);
    expect(blendLevels(0, 8, 0.25)).toBe(6);
    expect(blendLevels(100, 1, 1)).toBe(100);
    expect(blendLevels(100, 1, 0)).toBe(1);
  });

  it("starts from the registration: its peak (or its tier's default for its account size) times the region's share", () => {
    const base = { appType: 'webapp' as const, utcOffsetHours: 1 };
    expect(registrationPrior({ ...base, registration: { tier: 'pro', userBase: { peakRequestsPerSecond: 200 } }, share: 0.25 }).peakRequestsPerSecond).toBe(50);
    expect(expectedPeak({ tier: 'enterprise', userBase: { accountSize: 'medium' } })).toBe(TierPolicy.enterprise.defaultPeakRequestsPerSecond.medium);
    // A region outside the markets still gets a little, an unregistered domain no level at all.
    expect(registrationPrior({ ...base, registration: { tier: 'free', userBase: { peakRequestsPerSecond: 200 } }, share: null }).peakRequestsPerSecond).toBeCloseTo(10, 9);
    expect(registrationPrior({ ...base, registration: null, share: 1 })).toEqual({ ...base, peakRequestsPerSecond: null, borrowed: null });
  });

  it('moves from the prior to the data by how much history there is, not at a switch', () => {
    const input = { appType: 'webapp' as const, peakRequestsPerSecond: 1, utcOffsetHours: 0 };
    const weights = [1, 3, 6, 12, 24, 36].map((hours) => {
      const n = (hours * HOUR_MS) / STEP;
      const grid = { startMs: startMs - n * STEP, stepMs: STEP, values: new Float64Array(n).fill(3000) };
      return priorForecast(input, at, grid);
    });
    const priorWeights = weights.map((f) => f.priorWeight);
    for (let i = 1; i < priorWeights.length; i++) expect(priorWeights[i]).toBeLessThan(priorWeights[i - 1]);
    expect(priorWeights[0]).toBeGreaterThan(0.8);
    expect(priorWeights[5]).toBeLessThan(0.2);
    const means = weights.map((f) => f.point.reduce((a, b) => a + b, 0) / f.point.length);
    for (let i = 1; i < means.length; i++) expect(means[i]).toBeGreaterThan(means[i - 1]);
  });

  it("borrows a daily shape: a related series peaking at 04:00 local pulls the prior's peak there", () => {
    const days = 7;
    const grid = { startMs, stepMs: STEP, values: Float64Array.from({ length: days * 288 }, (_, i) => 10 + 100 * Math.exp(-(((((i * STEP) % DAY_MS) / HOUR_MS - 4) ** 2) / 2))) };
    const shape = dailyShapeOf(grid, 0)!;
    expect(shape.days).toBeCloseTo(7, 6);
    const borrowed = combineDailyShapes([shape, { ...shape, days: 7 }])!;
    const f = priorForecast({ appType: 'webapp', peakRequestsPerSecond: 10, utcOffsetHours: 0, borrowed }, at);
    expect(hourOfPeak(f.point)).toBe(4);
  });

  it('is monotone, non-negative and encodes into a valid compact event for every app type (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...AppTypes), fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: -12, max: 14, noNaN: true }), (appType, peak, offset) => {
        const f = priorForecast({ appType, peakRequestsPerSecond: peak, utcOffsetHours: offset }, { ...at, horizon: 48 });
        const payload = toForecastPayload({ domain: 'app.example.com', region: 'eu-west-1' }, f, null, defaultProfile(appType, 'pro'), new Date(startMs), 'registered');
        expect(DemandForecastSchema.safeParse(payload).success).toBe(true);
        for (let h = 0; h < 48; h++) {
          for (let k = 1; k < QuantileLevels.length; k++) expect(payload.requests[QuantileLevels[k]][h]).toBeGreaterThanOrEqual(payload.requests[QuantileLevels[k - 1]][h]);
          expect(forecastRate(payload, h, 'p50')).toBeCloseTo(f.quantiles.p50[h] / (STEP / 1000), -Math.log10(payload.unit / (STEP / 1000)) - 0.3);
        }
      }),
      { numRuns: 200 },
    );
  });
});
