import { DEMAND_FORECAST, DemandForecastEventSchema, forecastResources, MAX_REGISTERED_DOMAIN_LENGTH, QuantileLevels, TierPolicy } from '@shardcast/contracts';
import { defaultProfile } from './domain-profile';
import { forecastMoved, forecastUnit, toForecastPayload } from './forecast-payload';
import { DemandForecast } from './demand-forecast';

/** The budget for one (domain, region) event at the default 48 h horizon at 5 minutes. */
const MAX_EVENT_BYTES = 16_384;

function worstCase(seed: number): DemandForecast {
  let x = seed;
  const rand = () => ((x = (x * 48271) % 2147483647) / 2147483647);
  const horizon = 576;
  const p50 = Float64Array.from({ length: horizon }, () => 1e6 * (0.2 + 0.6 * rand()));
  const ratios = { p05: 0.3, p10: 0.5, p50: 1, p90: 1.4, p95: 1.6, p99: 2 * 0.999 };
  const quantiles = Object.fromEntries(QuantileLevels.map((q) => [q, p50.map((v) => v * ratios[q] * (0.98 + 0.02 * rand()))])) as DemandForecast['quantiles'];
  for (let h = 0; h < horizon; h++) for (let k = 1; k < QuantileLevels.length; k++) quantiles[QuantileLevels[k]][h] = Math.max(quantiles[QuantileLevels[k]][h], quantiles[QuantileLevels[k - 1]][h]);
  return { startMs: Date.UTC(2026, 10, 25, 12), stepMs: 300_000, horizon, quantiles, point: p50, model: 'median-4', selectedModel: 'median-4', fallbackErrors: [], mase: 0.61234567, selectedAt: '2026-11-25T00:00:00.000Z', confidence: 'high', forecastOnly: false, priorWeight: 0 };
}

describe('the compact demand.forecast.v1 event', () => {
  it('stays under 16 KB as uncompressed JSON with its envelope at 576 steps, with every count at 3 digits and the longest domain', () => {
    const domain = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(MAX_REGISTERED_DOMAIN_LENGTH - 3 * 64 - 4)}.io`.slice(0, MAX_REGISTERED_DOMAIN_LENGTH);
    for (const seed of [1, 7, 42]) {
      const payload = toForecastPayload({ domain, region: 'ap-southeast-4' }, worstCase(seed), { baselineMase: 0.7123456 }, defaultProfile('webapp', 'enterprise'), new Date(), 'moved');
      const event = { eventId: 'f'.repeat(36), type: DEMAND_FORECAST, occurredAt: new Date().toISOString(), producedBy: 'forecaster', correlationId: 'c'.repeat(36), causationId: 'd'.repeat(36), payload };
      expect(DemandForecastEventSchema.safeParse(event).success).toBe(true);
      const bytes = Buffer.byteLength(JSON.stringify(event));
      expect(bytes).toBeLessThanOrEqual(MAX_EVENT_BYTES);
      expect(Math.max(...payload.requests.p99)).toBeLessThanOrEqual(999);
    }
  });

  it('picks a power-of-ten unit that keeps three significant digits, small forecasts included', () => {
    expect(forecastUnit(0)).toBe(1);
    expect(forecastUnit(999)).toBe(1);
    expect(forecastUnit(1000)).toBe(10);
    expect(forecastUnit(123_456)).toBe(1000);
    expect(forecastUnit(0.5)).toBe(0.001);
    expect(forecastUnit(3)).toBe(0.01);
    // Subnormal forecasts: the smallest unit, at once (max / 999 underflows to 0).
    expect(forecastUnit(1.83e-321)).toBe(1e-6);
    expect(forecastUnit(Number.MIN_VALUE)).toBe(1e-6);
    expect(forecastUnit(1e-9)).toBe(1e-6);
  });

  it("gives consumers the tier's resources from the per-request cost (forecastResources)", () => {
    const f = worstCase(3);
    const profile = defaultProfile('api', 'pro');
    const payload = toForecastPayload({ domain: 'app.example.com', region: 'eu-west-1' }, f, null, profile, new Date(), 'scheduled');
    const rate = f.quantiles.p90[10] / 300;
    const provisioned = forecastResources(payload, 10);
    expect(payload.provisionQuantile).toBe('p90');
    expect(provisioned.cpuCores).toBeCloseTo(((rate * profile.cpuMs) / 1000) * TierPolicy.pro.headroom, -1);
    expect(forecastResources(payload, 10, 'p50').cpuCores).toBeLessThan(provisioned.cpuCores);
  });
});

describe('forecastMoved', () => {
  const base = toForecastPayload({ domain: 'app.example.com', region: 'eu-west-1' }, worstCase(5), null, defaultProfile('api', 'pro'), new Date(), 'scheduled');
  it('is false for the same forecast a step later, true when the provisioned quantile moves past the threshold', () => {
    const later = { ...base, startAt: new Date(Date.parse(base.startAt) + 300_000).toISOString(), requests: Object.fromEntries(QuantileLevels.map((q) => [q, [...base.requests[q].slice(1), base.requests[q][575]]])) as typeof base.requests };
    expect(forecastMoved(base, later, 0.1)).toBe(false);
    const p90 = [...later.requests.p90];
    p90[100] = Math.round(p90[100] + 0.2 * Math.max(...base.requests.p90));
    expect(forecastMoved(base, { ...later, requests: { ...later.requests, p90, p95: p90.map((v, i) => Math.max(v, later.requests.p95[i])), p99: p90.map((v, i) => Math.max(v, later.requests.p99[i])) } }, 0.1)).toBe(true);
    expect(forecastMoved(base, { ...later, tier: 'enterprise', provisionQuantile: 'p99' }, 0.1)).toBe(true);
  });
});
