import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DemandForecast, RequestCost, ShardAssigned, TierPolicy } from '@shardcast/contracts';
import { decide, DomainAllocationState, LatencyMatrix, newDomainState, RegionPool, toCapacityPlan } from '@shardcast/allocation';
import { parseRegionTable } from '@shardcast/geo';
import { domainRecords } from './answers';
import { plannedRouting, roundedShares, ROUTING_SHARE_STEP, routingKey, splitSubnets } from './capacity';
import { parseClientSubnets } from './client-subnets';
import { impactTable, trafficImpact } from './impact';
import { renderKnotGeoip } from './render/knot-geoip';
import { renderPdnsGeoLua, renderPdnsLua } from './render/pdns-lua';
import { valueProblem } from './records';
import { RenderRefused } from './render/zone-file';

const ROOT = resolve(__dirname, '../../..');
const latency = new LatencyMatrix(
  JSON.parse(readFileSync(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json'), 'utf8')),
  parseRegionTable(readFileSync(resolve(ROOT, 'data/regions/awsData.js'), 'utf8')),
);
// The real client subnet map: splits are by its subnets.
const MAP = parseClientSubnets(readFileSync(resolve(ROOT, 'data/client-subnets/ipv4.csv'), 'utf8'));
const CLIENTS = [...new Set(MAP.map((s) => s.region))];

type Shard = ShardAssigned['shards'][number];
const shard = (region: string, ip: string, state: Shard['state'] = 'active'): Shard => ({ region, hostname: `${region}.app.example.com`, state, weight: 100, endpoints: { ipv4: [ip], ipv6: [] } });
const LAYOUT: ShardAssigned = {
  domain: 'app.example.com',
  version: 1,
  shards: [shard('us-east-2', '192.0.2.1'), shard('eu-central-1', '192.0.2.2'), shard('eu-west-1', '192.0.2.3')],
  ring: { algorithm: 'bounded-rendezvous-table-xxh32', seed: 1, tableBits: 16, loadBoundPermille: 50 },
  movement: { fromVersion: null, moved: 0, exact: true, flows: [] },
  pendingMovement: null,
  source: null,
};
const routing = (byOrigin: Record<string, Record<string, number>>) => new Map(Object.entries(byOrigin).map(([o, r]) => [o, new Map(Object.entries(r))]));
const addressesOf = (cidrs: readonly string[]) => cidrs.reduce((s, c) => s + 2 ** (32 - Number(c.split('/')[1])), 0);

describe('roundedShares', () => {
  it('property: shares are whole steps, sum to one, and stay within a step of the exact share', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 8 }), (weights) => {
        const total = weights.reduce((s, w) => s + w, 0);
        const shares = roundedShares(weights.map((weight, key) => ({ key, weight })));
        if (total <= 0) return expect(shares).toEqual([]);
        expect(shares.reduce((s, x) => s + x.share, 0)).toBeCloseTo(1, 9);
        for (const s of shares) {
          expect(Math.abs(s.share / ROUTING_SHARE_STEP - Math.round(s.share / ROUTING_SHARE_STEP))).toBeLessThan(1e-9);
          expect(Math.abs(s.share - weights[s.key] / total)).toBeLessThanOrEqual(ROUTING_SHARE_STEP + 1e-9);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('splitSubnets', () => {
  const eu = MAP.filter((s) => s.region === 'eu-central-1').map((s) => s.cidr);

  it('gives each part about its share of the region addresses, every subnet to exactly one part', () => {
    const parts = splitSubnets('app.example.com', eu, [
      { key: 'a', share: 0.7 },
      { key: 'b', share: 0.3 },
    ]);
    expect(parts.flatMap((p) => p.subnets).sort()).toEqual([...eu].sort());
    const largest = Math.max(...eu.map((cidr) => addressesOf([cidr]))) / addressesOf(eu);
    for (const p of parts) expect(Math.abs(p.share - p.target)).toBeLessThanOrEqual(largest);
    expect(parts[0].share + parts[1].share).toBeCloseTo(1, 9);
  });

  it('property: raising one part only moves subnets into it (a plan that grows a spill moves nothing else)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 19 }), fc.integer({ min: 1, max: 20 }), fc.string({ minLength: 1, maxLength: 12 }), (k, more, domain) => {
        const lower = k * ROUTING_SHARE_STEP;
        const higher = Math.min(1, lower + more * ROUTING_SHARE_STEP);
        const before = splitSubnets(domain, eu, [{ key: 'home', share: 1 - lower }, { key: 'spill', share: lower }]);
        const after = splitSubnets(domain, eu, [{ key: 'home', share: 1 - higher }, { key: 'spill', share: higher }]);
        for (const cidr of before[1].subnets) expect(after[1].subnets).toContain(cidr);
      }),
      { numRuns: 200 },
    );
  });

  it('splits different domains by different subnets', () => {
    const a = splitSubnets('a.example.com', eu, [{ key: 'home', share: 0.5 }, { key: 'spill', share: 0.5 }]);
    const b = splitSubnets('b.example.com', eu, [{ key: 'home', share: 0.5 }, { key: 'spill', share: 0.5 }]);
    expect(a[1].subnets).not.toEqual(b[1].subnets);
  });
});

describe('domainRecords with the allocator routing (capacity-aware answers)', () => {
  const records = (byOrigin: Record<string, Record<string, number>>, health = new Map<string, 'up' | 'down'>()) =>
    domainRecords(LAYOUT, health, CLIENTS, latency, undefined, { routing: routing(byOrigin), subnets: MAP });

  it('splits a client region by the planned shares: its own shard for most subnets, the spill region for the rest', () => {
    const r = records({ 'eu-central-1': { 'eu-central-1': 60, 'eu-west-1': 40 } });
    const d = r.decisions.find((x) => x.clientRegion === 'eu-central-1')!;
    expect(d.reason).toBe('capacity-split');
    expect(d.answered).toBe('eu-central-1.app.example.com');
    const spill = d.split!.find((p) => p.hostname === 'eu-west-1.app.example.com')!;
    expect(spill.target).toBeCloseTo(0.4, 9);
    expect(Math.abs(spill.share - 0.4)).toBeLessThan(0.1);
    // The spilled subnets answer the spill shard everywhere the geo record is rendered.
    for (const cidr of spill.subnets) expect(r.geo!.bySubnet![cidr]).toEqual({ kind: 'addresses', ipv4: ['192.0.2.3'], ipv6: [] });
    expect(Object.keys(r.geo!.bySubnet!).sort()).toEqual([...spill.subnets].sort());
    const knot = renderKnotGeoip([r.geo!], MAP);
    expect(knot).toContain(`  - net: ${spill.subnets[0]}\n    A: [192.0.2.3]`);
    const lua = renderPdnsGeoLua(r.geo!, MAP);
    for (const rec of lua) expect(valueProblem('LUA', rec.content)).toBeNull();
    expect(lua[0].content).toMatch(/, \{\[[0-9]+\] = \{'192\.0\.2\.3'\}/);
    for (const rec of renderPdnsLua(r.geo!, MAP)) expect(valueProblem('LUA', rec.content)).toBeNull();
    // Other client regions keep their closest shard.
    expect(r.decisions.find((x) => x.clientRegion === 'us-east-2')).toMatchObject({ reason: 'closest-healthy', answered: 'us-east-2.app.example.com' });
  });

  it('sends a whole region elsewhere when the plan serves all of it there, and says why', () => {
    const d = records({ 'eu-central-1': { 'eu-west-1': 100 } }).decisions.find((x) => x.clientRegion === 'eu-central-1')!;
    expect(d).toMatchObject({ reason: 'capacity', answered: 'eu-west-1.app.example.com' });
    expect(d.split).toBeUndefined();
  });

  it('a planned region without a healthy shard gives its share to the first healthy one of the order', () => {
    const down = new Map([['eu-west-1.app.example.com', 'down' as const]]);
    const d = records({ 'eu-central-1': { 'eu-central-1': 60, 'eu-west-1': 40 } }, down).decisions.find((x) => x.clientRegion === 'eu-central-1')!;
    expect(d).toMatchObject({ reason: 'closest-healthy', answered: 'eu-central-1.app.example.com' });
    const noShard = records({ 'eu-central-1': { 'eu-central-1': 60, 'ap-south-1': 40 } }).decisions.find((x) => x.clientRegion === 'eu-central-1')!;
    expect(noShard).toMatchObject({ reason: 'closest-healthy', answered: 'eu-central-1.app.example.com' });
  });

  it('the traffic impact of a split is the moved subnets share of the region', () => {
    const before = records({}).decisions;
    const after = records({ 'eu-central-1': { 'eu-central-1': 70, 'eu-west-1': 30 } }).decisions;
    const moves = trafficImpact(before, after);
    expect(moves).toHaveLength(1);
    const spill = after.find((d) => d.clientRegion === 'eu-central-1')!.split!.find((p) => p.hostname.startsWith('eu-west-1'))!;
    expect(moves[0]).toMatchObject({ clientRegion: 'eu-central-1', from: 'eu-central-1.app.example.com', to: 'eu-west-1.app.example.com' });
    expect(moves[0].share).toBeCloseTo(spill.share, 9);
    expect(impactTable(moves)).toContain(`~${Math.round(spill.share * 100)} % of eu-central-1 clients`);
    expect(trafficImpact(after, records({}).decisions)[0]).toMatchObject({ from: 'eu-west-1.app.example.com', to: 'eu-central-1.app.example.com' });
  });

  it('refuses a split subnet that is not a canonical CIDR of the map, before rendering anything', () => {
    const geo = records({ 'eu-central-1': { 'eu-central-1': 60, 'eu-west-1': 40 } }).geo!;
    for (const cidr of ["2.0.0.0/8\n  - net: 0.0.0.0/0", "1.2.3.4/8", "1.0.0.0/8'}) os.exit() --"]) {
      const hostile = { ...geo, bySubnet: { [cidr]: { kind: 'addresses' as const, ipv4: ['192.0.2.3'], ipv6: [] } } };
      expect(() => renderKnotGeoip([hostile], MAP)).toThrow(RenderRefused);
      expect(() => renderPdnsGeoLua(hostile, MAP)).toThrow(RenderRefused);
      expect(() => renderPdnsLua(hostile, MAP)).toThrow(RenderRefused);
    }
    expect(() => renderPdnsGeoLua({ ...geo, bySubnet: { '10.0.0.0/8': { kind: 'addresses', ipv4: ['192.0.2.3'], ipv6: [] } } }, MAP)).toThrow(/not in the client map/);
  });

  it('routingKey changes only when rounded shares change', () => {
    expect(routingKey(routing({ a: { a: 60, b: 40 } }))).toBe(routingKey(routing({ a: { a: 601, b: 399 } })));
    expect(routingKey(routing({ a: { a: 60, b: 40 } }))).not.toBe(routingKey(routing({ a: { a: 80, b: 20 } })));
  });
});

describe('pre-peak answers: the real allocator ahead of a forecast peak, then DNS', () => {
  const COST: RequestCost = { cpuMs: 10, memoryMbPerConcurrent: 50, bytesOut: 10_000, latencyMs: 100 };
  const T0 = Date.parse('2026-12-01T00:00:00Z');
  const MIN = 60_000;
  const PEAK_FROM = T0 + 6 * 60 * MIN;
  const PEAK_UNTIL = T0 + 8 * 60 * MIN;
  const pool = (region: string, cpuCores: number): RegionPool => ({
    region,
    capacity: { cpuCores, memoryGiB: cpuCores * 4, egressMbps: cpuCores * 100 },
    provisioningDelaySeconds: 600,
    costPerHour: { cpuCore: 0.04, memoryGiB: 0.005, egressMbps: 0.001 },
    endpoints: { ipv4: ['192.0.2.9'], ipv6: [] },
  });
  // eu-central-1's pool takes the base load, not the peak; eu-west-1 has room.
  const pools = { pools: new Map([pool('eu-central-1', 4), pool('eu-west-1', 100)].map((p) => [p.region, p])), committed: new Map() };
  const rate = (ms: number) => (ms >= PEAK_FROM && ms < PEAK_UNTIL ? 400 : 100);
  const p90 = Array.from({ length: 576 }, (_, i) => Math.round(rate(T0 + i * 300_000) * 300));
  const forecast = {
    kind: 'forecast',
    domain: 'app.example.com',
    region: 'eu-central-1',
    generatedAt: new Date(T0).toISOString(),
    startAt: new Date(T0).toISOString(),
    stepSeconds: 300,
    steps: 576,
    unit: 1,
    requests: Object.fromEntries(([['p05', 0.6], ['p10', 0.7], ['p50', 0.9], ['p90', 1], ['p95', 1.1], ['p99', 1.3]] as const).map(([q, k]) => [q, p90.map((v) => Math.round(v * k))])),
    model: { name: 'prior', selected: 'prior', mase: null, baselineMase: null, selectedAt: null },
    confidence: 'low',
    forecastOnly: false,
    priorWeight: 1,
    tier: 'pro',
    provisionQuantile: TierPolicy.pro.quantile,
    requestCost: COST,
    reason: 'registered',
  } as unknown as DemandForecast;

  it('shifts part of the region to the spill shard before its peak and back after it', () => {
    let state: DomainAllocationState = newDomainState('app.example.com', 'pro');
    let plan = toCapacityPlan(decide(state, { kind: 'forecast', atMs: T0, eventId: 'f1', forecast }, pools, latency, COST).plan!, 'p1');
    state = decide(state, { kind: 'forecast', atMs: T0, eventId: 'f1', forecast }, pools, latency, COST).state;
    const spillShare = new Map<number, number>();
    const planned = new Map<number, { target: number; planned: number }>();
    for (let at = T0 + MIN; at <= T0 + 12 * 60 * MIN; at += MIN) {
      const d = decide(state, { kind: 'tick', atMs: at }, pools, latency, COST);
      state = d.state;
      if (d.plan) plan = toCapacityPlan(d.plan, `p${d.plan.version}`);
      const decision = domainRecords(LAYOUT, new Map(), ['eu-central-1'], latency, undefined, { routing: plannedRouting(plan), subnets: MAP }).decisions[0];
      const part = decision.split?.find((p) => p.hostname.startsWith('eu-west-1'));
      spillShare.set(at, part?.share ?? (decision.answered?.startsWith('eu-west-1') ? 1 : 0));
      const routes = plannedRouting(plan).get('eu-central-1') ?? new Map<string, number>();
      const total = [...routes.values()].reduce((s, r) => s + r, 0);
      planned.set(at, { target: part?.target ?? 0, planned: total > 0 ? (routes.get('eu-west-1') ?? 0) / total : 0 });
    }
    const share = (ms: number) => spillShare.get(ms)!;
    // Before the peak's approach: all of the region at its own shard.
    expect(share(T0 + 60 * MIN)).toBe(0);
    // Shifted before the peak begins (the allocator provisions ahead of its 10-minute delay)…
    const firstShift = [...spillShare].find(([, s]) => s > 0)![0];
    expect(firstShift).toBeLessThan(PEAK_FROM);
    expect(firstShift).toBeGreaterThan(PEAK_FROM - 60 * MIN);
    // …held through the peak, at the share the allocator spilled (rounded to the step)…
    const during = planned.get(PEAK_FROM + 30 * MIN)!;
    expect(during.planned).toBeGreaterThanOrEqual(2 * ROUTING_SHARE_STEP - 1e-9); // a share DNS can carry, not a rounding
    expect(Math.abs(during.target - during.planned)).toBeLessThanOrEqual(ROUTING_SHARE_STEP / 2 + 1e-9);
    expect(share(PEAK_FROM + 30 * MIN)).toBeGreaterThan(0);
    // …and back within the hour after it.
    expect(share(PEAK_UNTIL + 60 * MIN)).toBe(0);
    expect(share(T0 + 12 * 60 * MIN)).toBe(0);
  });
});
