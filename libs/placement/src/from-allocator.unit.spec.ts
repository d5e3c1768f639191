import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CapacityPlanSchema, DemandForecast, RequestCost, Tier, TierPolicy } from '@shardcast/contracts';
import { decide, DefaultAllocationPolicy, DomainAllocationState, LatencyMatrix, newDomainState, RegionPool, toCapacityPlan } from '@shardcast/allocation';
import { parseRegionTable } from '@shardcast/geo';
import { DEFAULT_RANKING_POLICY, rankRegions } from './ranking';
import { nextShardSet, servingRegions, ShardSet } from './shard-set';
import { shardName } from './names';

/** The allocator's own plans (its pure `decide`) through the ranking, the shard set and the names. */
const ROOT = resolve(__dirname, '../../..');
const latency = new LatencyMatrix(
  JSON.parse(readFileSync(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json'), 'utf8')),
  parseRegionTable(readFileSync(resolve(ROOT, 'data/regions/awsData.js'), 'utf8')),
);
const COST: RequestCost = { cpuMs: 10, memoryMbPerConcurrent: 50, bytesOut: 10_000, latencyMs: 100 };
const T0 = Date.parse('2026-12-01T00:00:00Z');
const HOUR = 3_600_000;

function pool(region: string): RegionPool {
  return {
    region,
    capacity: { cpuCores: 10_000, memoryGiB: 40_000, egressMbps: 1_000_000 },
    provisioningDelaySeconds: 600,
    costPerHour: { cpuCore: 0.04, memoryGiB: 0.005, egressMbps: 0.001 },
    endpoints: { ipv4: ['192.0.2.1'], ipv6: [] },
  };
}
const pools = { pools: new Map(['us-east-1', 'eu-west-1', 'ap-south-1'].map((r) => [r, pool(r)])), committed: new Map() };

/** A 24 h forecast at 5-minute steps of `rate(ms)` requests/s at p90. */
function forecast(region: string, rate: (ms: number) => number, priorWeight: number, tier: Tier = 'pro'): DemandForecast {
  const steps = 288;
  const p90 = Array.from({ length: steps }, (_, i) => Math.round(rate(T0 + i * 300_000) * 300));
  const at = (k: number) => p90.map((v) => Math.round(v * k));
  return {
    kind: 'forecast',
    domain: 'app.example.com',
    region,
    generatedAt: new Date(T0).toISOString(),
    startAt: new Date(T0).toISOString(),
    stepSeconds: 300,
    steps,
    unit: 1,
    requests: { p05: at(0.6), p10: at(0.7), p50: at(0.9), p90, p95: at(1.1), p99: at(1.3) },
    model: { name: 'prior', selected: 'prior', mase: null, baselineMase: null, selectedAt: null },
    confidence: 'low',
    forecastOnly: false,
    priorWeight,
    tier,
    provisionQuantile: TierPolicy[tier].quantile,
    requestCost: COST,
    reason: 'registered',
  } as DemandForecast;
}

function planOf(forecasts: DemandForecast[]) {
  let state: DomainAllocationState = newDomainState('app.example.com', 'pro');
  let plan = null;
  for (const [i, f] of forecasts.entries()) {
    const d = decide(state, { kind: 'forecast', atMs: T0, eventId: `f${i}`, forecast: f }, pools, latency, COST, DefaultAllocationPolicy);
    state = d.state;
    plan = d.plan ?? plan;
  }
  return CapacityPlanSchema.parse(toCapacityPlan(plan!, 'plan-1'));
}

describe('placement from the allocator\'s plans', () => {
  it('a registration with no telemetry gets shards from its prior', () => {
    const plan = planOf([forecast('eu-west-1', () => 10, 1)]);
    expect(plan.regions.map((r) => r.reason)).toEqual(['prior']);
    const set = nextShardSet(null, rankRegions(plan, latency, T0), T0);
    expect(servingRegions(set)).toEqual(['eu-west-1']);
    expect(servingRegions(set).map((r) => shardName(r, plan.domain))).toEqual([{ ok: true, value: 'eu-west-1.app.example.com' }]);
  });

  it('adds a region before its scheduled peak, active before the peak arrives', () => {
    const peakAt = T0 + 3 * HOUR;
    const plan = planOf([forecast('us-east-1', () => 500, 0), forecast('eu-west-1', () => 50, 0), forecast('ap-south-1', (ms) => (ms >= peakAt && ms < peakAt + 2 * HOUR ? 5000 : 100), 0)]);
    const byPolicy = (nowMs: number) => rankRegions({ ...plan, tier: 'free' }, latency, nowMs);
    // Free tier: one shard. Now us-east-1 serves the most.
    let set: ShardSet = nextShardSet(null, byPolicy(T0), T0);
    expect(servingRegions(set)).toEqual(['us-east-1']);
    let joined: number | null = null;
    let active: number | null = null;
    for (let now = T0; now <= peakAt; now += 60_000) {
      set = nextShardSet(set, byPolicy(now), now);
      const ap = set.members.find((m) => m.region === 'ap-south-1');
      if (ap && joined === null) joined = now;
      if (ap?.state === 'active' && active === null) active = now;
    }
    expect(joined).not.toBeNull();
    expect(active).not.toBeNull();
    expect(active!).toBeLessThan(peakAt);
    // Not much earlier than it must: the lead time, plus the hourly block and the provisioning delay the schedule looks ahead by.
    expect(peakAt - joined!).toBeLessThanOrEqual(DEFAULT_RANKING_POLICY.leadTimeMs + HOUR + 10 * 60_000);
    expect(servingRegions(set)).toEqual(['ap-south-1']);
  });
});
