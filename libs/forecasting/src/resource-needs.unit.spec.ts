import { applyCalibration, WideRelativeCalibration } from './conformal-calibration';
import { defaultProfile, learnProfile, TierPolicy } from './domain-profile';
import { resourceNeeds, resourcesForRate } from './resource-needs';
import { MINUTE_MS } from './series';

describe('resource model', () => {
  it('turns a request rate into cores, memory (Little’s law) and egress (hand-checked)', () => {
    const api = defaultProfile('api', 'pro');
    // 2 req/s × 8 ms = 0.016 cores; 2 × 0.08 s = 0.16 in flight × 4 MB = 0.64 MB; 2 × 4000 B × 8 = 0.064 Mbit/s.
    const need = resourcesForRate(2, api);
    expect(need.cpuCores).toBeCloseTo(0.016);
    expect(need.memoryGiB).toBeCloseTo(0.64 / 1024);
    expect(need.egressMbps).toBeCloseTo(0.064);
    expect(resourcesForRate(-5, api)).toEqual({ cpuCores: 0, memoryGiB: 0, egressMbps: 0 });
  });

  it('provisions at the tier’s quantile with its headroom, per step', () => {
    const point = [600, 1200];
    const quantiles = applyCalibration(point, WideRelativeCalibration);
    const f = { startMs: 0, stepMs: 5 * MINUTE_MS, horizon: 2, quantiles };
    for (const tier of ['free', 'pro', 'enterprise'] as const) {
      const profile = defaultProfile('ssr', tier);
      const steps = resourceNeeds(f, profile);
      const { quantile, headroom } = TierPolicy[tier];
      expect(steps).toHaveLength(2);
      expect(steps[1].at).toBe(5 * MINUTE_MS);
      expect(steps[0].provisioned.cpuCores).toBeCloseTo(steps[0].byQuantile[quantile].cpuCores * headroom);
      // 600 requests per 5 min at p50 = 2 req/s.
      expect(steps[0].byQuantile.p50.cpuCores).toBeCloseTo((2 * profile.cpuMs) / 1000);
    }
    const free = resourceNeeds(f, defaultProfile('ssr', 'free'))[0].provisioned.cpuCores;
    const enterprise = resourceNeeds(f, defaultProfile('ssr', 'enterprise'))[0].provisioned.cpuCores;
    expect(enterprise).toBeGreaterThan(free);
  });

  it('learns bytes and latency from telemetry only when there is enough of it', () => {
    const base = defaultProfile('static', 'free');
    expect(learnProfile(base, { requests: 10, meanBytesOut: 1 })).toEqual(base);
    const learned = learnProfile(base, { requests: 100_000, meanBytesOut: 1234, meanLatencyMs: 5 });
    expect(learned.bytesOut).toBe(1234);
    expect(learned.latencyMs).toBe(5);
    expect(learned.cpuMs).toBe(base.cpuMs);
    const partly = learnProfile(base, { requests: 500, meanBytesOut: 0 });
    expect(partly.bytesOut).toBeCloseTo(base.bytesOut / 2);
  });
});
