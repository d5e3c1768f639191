import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CapacityPlan, CapacityPlanSchema, Tier } from '@shardcast/contracts';
import { LatencyMatrix } from '@shardcast/allocation';
import { parseRegionTable } from '@shardcast/geo';
import { checkRankingPolicy, DEFAULT_RANKING_POLICY, rankRegions, RoundTrips, topRegions } from './ranking';
import { nextShardSet, servingRegions } from './shard-set';

const ROOT = resolve(__dirname, '../../..');
const latency = new LatencyMatrix(
  JSON.parse(readFileSync(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json'), 'utf8')),
  parseRegionTable(readFileSync(resolve(ROOT, 'data/regions/awsData.js'), 'utf8')),
);
const NOW = Date.parse('2026-12-02T12:00:00Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** Resources of a request rate at a fixed per-request cost (1 ms CPU, no memory, no egress). */
const need = (rps: number) => ({ cpuCores: rps / 1000, memoryGiB: 0, egressMbps: 0 });

interface RegionSpec {
  region: string;
  served: Record<string, number>;
  reason?: CapacityPlan['regions'][number]['reason'];
  /** Scheduled peaks: [hours from now, requests/s]. */
  schedule?: Array<[number, number]>;
}

function plan(regions: RegionSpec[], tier: Tier = 'pro'): CapacityPlan {
  return CapacityPlanSchema.parse({
    domain: 'app.example.com',
    tier,
    version: 1,
    planId: 'plan-1',
    validFrom: iso(NOW),
    validUntil: iso(NOW + 24 * HOUR),
    regions: regions.map((r) => {
      const rps = Object.values(r.served).reduce((s, x) => s + x, 0);
      return {
        region: r.region,
        reason: r.reason ?? 'proactive',
        quantile: 'p90',
        reserved: need(rps),
        requestsPerSecond: rps,
        shortRequestsPerSecond: 0,
        poolHeadroom: need(1000),
        endpoints: { ipv4: ['192.0.2.1'], ipv6: [] },
        servedByOrigin: Object.entries(r.served).map(([origin, requestsPerSecond]) => ({ origin, requestsPerSecond, forecastEventId: 'f-1' })),
        schedule: (r.schedule ?? []).map(([h, peak]) => ({ from: iso(NOW + h * HOUR), until: iso(NOW + (h + 1) * HOUR), reserved: need(peak) })),
      };
    }),
    shortByOrigin: [],
  });
}
const ids = (p: CapacityPlan, nowMs = NOW) => rankRegions(p, latency, nowMs).regions.map((r) => r.region);

describe('rankRegions', () => {
  it('ranks the regions the demand comes from first, by demand', () => {
    const p = plan([
      { region: 'eu-west-1', served: { 'eu-west-1': 300 } },
      { region: 'us-east-1', served: { 'us-east-1': 1000 } },
      { region: 'ap-southeast-1', served: { 'ap-southeast-1': 50 } },
    ]);
    expect(ids(p)).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-1']);
  });

  it('prefers, among regions serving the same spill, the closest to its origin', () => {
    const p = plan([
      { region: 'eu-west-1', served: { 'eu-west-1': 600 } },
      { region: 'us-east-1', served: { 'eu-west-1': 200 } },
      { region: 'eu-west-2', served: { 'eu-west-1': 200 } },
      { region: 'eu-central-1', served: { 'eu-west-1': 200 } },
    ]);
    const ranking = rankRegions(p, latency, NOW);
    expect(ranking.regions.map((r) => r.region)).toEqual(['eu-west-1', 'eu-west-2', 'eu-central-1', 'us-east-1']);
    // us-east-1 is ~70 ms from the demand: it counts for less than half of what it serves.
    expect(ranking.regions[3].closeness).toBeLessThan(0.5);
    expect(ranking.regions[0].closeness).toBeGreaterThan(0.9);
  });

  it('prefers a region that serves its own demand to one serving as much from far away', () => {
    const p = plan([
      { region: 'us-west-2', served: { 'ap-northeast-1': 500 } },
      { region: 'ap-northeast-1', served: { 'ap-northeast-1': 500 } },
    ]);
    expect(ids(p)).toEqual(['ap-northeast-1', 'us-west-2']);
  });

  it('picks the tier\'s count: free 1, pro 3, enterprise 5', () => {
    const regions = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-south-1', 'sa-east-1'].map((r, i) => ({ region: r, served: { [r]: 100 * (i + 1) } }));
    for (const [tier, n] of [['free', 1], ['pro', 3], ['enterprise', 5]] as const) {
      const ranking = rankRegions(plan(regions, tier), latency, NOW);
      expect(ranking.count).toBe(n);
      expect(topRegions(ranking).map((r) => r.region)).toEqual(['sa-east-1', 'ap-south-1', 'eu-central-1', 'eu-west-1', 'us-west-2'].slice(0, n));
    }
    const custom = rankRegions(plan(regions, 'free'), latency, NOW, { ...DEFAULT_RANKING_POLICY, shardCount: { free: 2, pro: 3, enterprise: 5 } });
    expect(topRegions(custom)).toHaveLength(2);
  });

  it('counts a scheduled peak within the lead time, not one beyond it', () => {
    const p = plan([
      { region: 'us-east-1', served: { 'us-east-1': 500 } },
      { region: 'eu-west-1', served: { 'eu-west-1': 100 }, schedule: [[0, 100], [2, 2000]] },
    ]);
    expect(ids(p)).toEqual(['us-east-1', 'eu-west-1']);
    // Within an hour of the peak's block it counts as if it were now.
    const before = rankRegions(p, latency, NOW + 1.5 * HOUR);
    expect(before.regions[0]).toMatchObject({ region: 'eu-west-1', reservedNow: true });
    expect(before.regions[0].requestsPerSecond).toBeCloseTo(2000);
  });

  it('takes a region that holds nothing now but has a peak within the lead time, marked as not reserved now', () => {
    const p = plan([
      { region: 'us-east-1', served: { 'us-east-1': 500 } },
      { region: 'eu-west-1', served: {}, schedule: [[0.5, 800]] },
    ]);
    const ranking = rankRegions(p, latency, NOW);
    expect(ranking.regions.map((r) => [r.region, r.reservedNow])).toEqual([['eu-west-1', false], ['us-east-1', true]]);
    expect(ids(p, NOW - 2 * HOUR)).toEqual(['us-east-1']);
  });

  it('keeps only regions holding capacity (now or ahead)', () => {
    const p = plan([
      { region: 'us-east-1', served: { 'us-east-1': 500 } },
      { region: 'eu-west-1', served: {}, reason: 'limit' },
    ]);
    expect(ids(p)).toEqual(['us-east-1']);
  });

  it('a registration\'s prior, with no observed demand, yields a non-empty shard set', () => {
    // What the allocator plans from a prior alone: reason `prior`, demand at the forecast's rate.
    const prior = plan([{ region: 'eu-central-1', served: { 'eu-central-1': 10 }, reason: 'prior' }], 'pro');
    const set = nextShardSet(null, rankRegions(prior, latency, NOW), NOW);
    expect(servingRegions(set)).toEqual(['eu-central-1']);
    // Even a plan that reserves capacity but states no rate has shards.
    const bare = CapacityPlanSchema.parse({ ...prior, regions: [{ ...prior.regions[0], requestsPerSecond: 0, servedByOrigin: [] }] });
    expect(servingRegions(nextShardSet(null, rankRegions(bare, latency, NOW), NOW))).toEqual(['eu-central-1']);
  });

  it('an unknown round trip counts as far away, and its own region as near', () => {
    const none: RoundTrips = { rttMs: () => null };
    const p = plan([
      { region: 'xx-one-1', served: { 'xx-one-1': 100 } },
      { region: 'xx-two-1', served: { 'xx-one-1': 1000 } },
    ]);
    expect(rankRegions(p, none, NOW).regions.map((r) => [r.region, r.score])).toEqual([['xx-one-1', 100], ['xx-two-1', 0]]);
  });

  it('ranks a region no lower when more of its own demand comes to it, and is scale-free (property)', () => {
    const regionIds = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-south-1'];
    const served = fc.tuple(...regionIds.map(() => fc.dictionary(fc.constantFrom(...regionIds), fc.integer({ min: 1, max: 1000 }), { minKeys: 1, maxKeys: 3 })));
    fc.assert(
      fc.property(served, fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 2, max: 100 }), (origins, i, extra, k) => {
        const specs = regionIds.map((region, j) => ({ region, served: origins[j] }));
        const before = ids(plan(specs));
        const target = regionIds[i];
        const more = specs.map((s) => (s.region === target ? { ...s, served: { ...s.served, [target]: (s.served[target] ?? 0) + extra } } : s));
        expect(ids(plan(more)).indexOf(target)).toBeLessThanOrEqual(before.indexOf(target));
        const scaled = specs.map((s) => ({ ...s, served: Object.fromEntries(Object.entries(s.served).map(([o, x]) => [o, x * k])) }));
        expect(ids(plan(scaled))).toEqual(before);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a policy no configuration should produce', () => {
    expect(() => checkRankingPolicy({ ...DEFAULT_RANKING_POLICY, shardCount: { free: 1.5, pro: 3, enterprise: 5 } })).toThrow(RangeError);
    expect(() => checkRankingPolicy({ ...DEFAULT_RANKING_POLICY, halfLifeMs: 0 })).toThrow(RangeError);
    expect(() => checkRankingPolicy({ ...DEFAULT_RANKING_POLICY, leadTimeMs: -1 })).toThrow(RangeError);
    expect(() => checkRankingPolicy(DEFAULT_RANKING_POLICY)).not.toThrow();
  });

  it('is deterministic: the order of the plan\'s regions and origins changes nothing', () => {
    const regionIds = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-south-1', 'sa-east-1', 'ap-northeast-1'];
    const spec = fc.array(
      fc.record({
        region: fc.constantFrom(...regionIds),
        origins: fc.dictionary(fc.constantFrom(...regionIds), fc.integer({ min: 0, max: 1000 }), { maxKeys: 4 }),
        schedule: fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3000 })), { maxLength: 3 }),
      }),
      { minLength: 1, maxLength: 8 },
    );
    fc.assert(
      fc.property(spec, fc.integer({ min: 0, max: 1000 }), (raw, seed) => {
        const unique = [...new Map(raw.map((r) => [r.region, r])).values()].map((r) => ({ region: r.region, served: r.origins, schedule: r.schedule as Array<[number, number]> }));
        const a = rankRegions(plan(unique), latency, NOW);
        const shuffled = [...unique].sort((x, y) => ((x.region.charCodeAt(3) * seed) % 7) - ((y.region.charCodeAt(3) * seed) % 7)).map((r) => ({ ...r, served: Object.fromEntries(Object.entries(r.served).reverse()) }));
        const b = rankRegions(plan(shuffled), latency, NOW);
        expect(b).toEqual(a);
        // Scores never increase down the ranking.
        for (let i = 1; i < a.regions.length; i++) expect(a.regions[i].score).toBeLessThanOrEqual(a.regions[i - 1].score);
      }),
      { numRuns: 100 },
    );
  });
});
