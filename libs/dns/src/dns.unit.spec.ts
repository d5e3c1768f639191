import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ShardAssigned } from '@shardcast/contracts';
import { LatencyMatrix } from '@shardcast/allocation';
import { parseRegionTable } from '@shardcast/geo';
import { DEFAULT_DNS_POLICY, domainRecords, ShardHealth } from './answers';
import { applyPlan, planChanges, RecordSet } from './plan';
import { GeoRecord, recordKey, RRset } from './records';
import { trafficImpact } from './impact';

const ROOT = resolve(__dirname, '../../..');
const latency = new LatencyMatrix(
  JSON.parse(readFileSync(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json'), 'utf8')),
  parseRegionTable(readFileSync(resolve(ROOT, 'data/regions/awsData.js'), 'utf8')),
);
const CLIENTS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1', 'sa-east-1'];

type Shard = ShardAssigned['shards'][number];
const shard = (region: string, ip: string, state: Shard['state'] = 'active', extra: Partial<Shard> = {}): Shard => ({
  region,
  hostname: `${region}.app.example.com`,
  state,
  weight: 100,
  endpoints: { ipv4: [ip], ipv6: [] },
  ...extra,
});
function layout(shards: Shard[]): ShardAssigned {
  return {
    domain: 'app.example.com',
    version: 1,
    shards,
    ring: { algorithm: 'bounded-rendezvous-table-xxh32', seed: 1, tableBits: 16, loadBoundPermille: 50 },
    movement: { fromVersion: null, moved: 0, exact: true, flows: [] },
    pendingMovement: null,
    source: null,
  };
}
const THREE = layout([shard('us-east-1', '192.0.2.1'), shard('eu-west-1', '192.0.2.2'), shard('ap-southeast-1', '192.0.2.3')]);
const answered = (health: Record<string, ShardHealth> = {}, l = THREE, policy = DEFAULT_DNS_POLICY) =>
  Object.fromEntries(domainRecords(l, new Map(Object.entries(health)), CLIENTS, latency, policy).decisions.map((d) => [d.clientRegion, d.answered]));

describe('domainRecords', () => {
  it('answers each client region its closest shard, and orders the rest as its failover', () => {
    const r = domainRecords(THREE, new Map(), CLIENTS, latency);
    const by = Object.fromEntries(r.decisions.map((d) => [d.clientRegion, d]));
    expect(by['eu-central-1']).toMatchObject({ answered: 'eu-west-1.app.example.com', reason: 'closest-healthy', order: ['eu-west-1.app.example.com', 'us-east-1.app.example.com', 'ap-southeast-1.app.example.com'] });
    expect(by['us-west-2'].answered).toBe('us-east-1.app.example.com');
    expect(by['sa-east-1'].answered).toBe('us-east-1.app.example.com');
    expect(by['ap-southeast-1'].answered).toBe('ap-southeast-1.app.example.com');
    expect(r.geo!.byClientRegion['eu-central-1']).toEqual({ kind: 'addresses', ipv4: ['192.0.2.2'], ipv6: [] });
    expect(r.rrsets).toContainEqual({ name: 'eu-west-1.app.example.com', type: 'A', ttl: 30, values: ['192.0.2.2'] });
  });

  it('fails over to the next closest when a shard is down, without a new layout', () => {
    expect(answered({ 'eu-west-1.app.example.com': 'down' })['eu-central-1']).toBe('us-east-1.app.example.com');
    const d = domainRecords(THREE, new Map([['eu-west-1.app.example.com', 'down']]), ['eu-central-1'], latency).decisions[0];
    expect(d.reason).toBe('failover');
  });

  it('when every shard is down: fail-open answers all, fail-closed none, fail-to-region that region', () => {
    const down = Object.fromEntries(THREE.shards.map((s) => [s.hostname, 'down' as const]));
    const open = domainRecords(THREE, new Map(Object.entries(down)), ['eu-west-1'], latency).decisions[0];
    expect(open).toMatchObject({ reason: 'fail-open', answered: null, answer: { kind: 'addresses', ipv4: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] } });
    const closed = domainRecords(THREE, new Map(Object.entries(down)), ['eu-west-1'], latency, { ...DEFAULT_DNS_POLICY, failure: { mode: 'closed' } });
    expect(closed.decisions[0]).toMatchObject({ reason: 'fail-closed', answer: { kind: 'none' } });
    expect(closed.geo!.fallback).toEqual({ kind: 'none' });
    const region = domainRecords(THREE, new Map(Object.entries(down)), ['eu-west-1'], latency, { ...DEFAULT_DNS_POLICY, failure: { mode: 'region', region: 'us-east-1' } });
    expect(region.decisions[0]).toMatchObject({ reason: 'fail-to-region', answered: 'us-east-1.app.example.com' });
  });

  it('never answers a warming shard at the domain, answers draining ones only after active ones; every shard keeps its own name', () => {
    const l = layout([shard('us-east-1', '192.0.2.1'), shard('eu-west-1', '192.0.2.2', 'warming'), shard('eu-central-1', '192.0.2.4', 'draining')]);
    const r = domainRecords(l, new Map(), ['eu-west-1'], latency);
    expect(r.decisions[0].order).toEqual(['us-east-1.app.example.com', 'eu-central-1.app.example.com']);
    expect(r.rrsets.map((x) => x.name).sort()).toEqual(['eu-central-1.app.example.com', 'eu-west-1.app.example.com', 'us-east-1.app.example.com']);
    expect(domainRecords(layout([shard('us-east-1', '192.0.2.1', 'warming')]), new Map(), CLIENTS, latency).geo).toBeNull();
  });

  it('a shard reached through a CNAME target gets its CNAME, never the apex (no CNAME at a zone apex)', () => {
    const l = layout([shard('us-east-1', '192.0.2.1'), shard('eu-west-1', '', 'active', { endpoints: { ipv4: [], ipv6: [], cname: 'lb.eu.example.net' } })]);
    const r = domainRecords(l, new Map(), ['eu-west-1'], latency);
    expect(r.rrsets).toContainEqual({ name: 'eu-west-1.app.example.com', type: 'CNAME', ttl: 30, values: ['lb.eu.example.net'] });
    expect(r.decisions[0].order).toEqual(['us-east-1.app.example.com']);
  });

  it('top-N bounds the failover order', () => {
    const r = domainRecords(THREE, new Map(), ['eu-west-1'], latency, { ...DEFAULT_DNS_POLICY, topN: 2 });
    expect(r.decisions[0].order).toHaveLength(2);
  });

  it('traffic impact: the European clients move from eu-west to us-east when eu-west goes down', () => {
    const before = domainRecords(THREE, new Map(), CLIENTS, latency).decisions;
    const after = domainRecords(THREE, new Map([['eu-west-1.app.example.com', 'down']]), CLIENTS, latency).decisions;
    const moves = trafficImpact(before, after);
    expect(moves.map((m) => [m.clientRegion, m.from, m.to])).toEqual([
      ['eu-central-1', 'eu-west-1.app.example.com', 'us-east-1.app.example.com'],
      ['eu-west-1', 'eu-west-1.app.example.com', 'us-east-1.app.example.com'],
    ]);
    expect(moves[0].shareOfAll).toBeCloseTo(1 / CLIENTS.length, 9);
  });
});

const rr = (name: string, ip: string, ttl = 30): RRset => ({ name, type: 'A', ttl, values: [ip] });
const geoOf = (name: string, ip: string): GeoRecord => ({ name, ttl: 30, byClientRegion: { 'eu-west-1': { kind: 'addresses', ipv4: [ip], ipv6: [] } }, fallback: { kind: 'addresses', ipv4: [ip], ipv6: [] } });

describe('planChanges', () => {
  it('creates, updates and deletes only what it owns; a foreign record is a conflict, never overwritten or deleted', () => {
    const current: RecordSet = { rrsets: [rr('a.example.com', '192.0.2.1'), rr('b.example.com', '192.0.2.2'), rr('foreign.example.com', '192.0.2.9'), rr('gone.example.com', '192.0.2.3')], geo: [] };
    const owned = new Set([recordKey('a.example.com', 'A'), recordKey('b.example.com', 'A'), recordKey('gone.example.com', 'A')]);
    const desired: RecordSet = { rrsets: [rr('a.example.com', '192.0.2.1'), rr('b.example.com', '192.0.2.20'), rr('foreign.example.com', '192.0.2.10'), rr('new.example.com', '192.0.2.4')], geo: [geoOf('example.com', '192.0.2.5')] };
    const plan = planChanges(desired, current, owned);
    expect(plan.changes.map((c) => [c.action, c.key])).toEqual([
      ['update', 'b.example.com A'],
      ['create', 'example.com GEO'],
      ['delete', 'gone.example.com A'],
      ['create', 'new.example.com A'],
    ]);
    expect(plan.conflicts).toEqual([{ key: 'foreign.example.com A', reason: expect.any(String) }]);
    expect(plan.owned).toEqual(['a.example.com A', 'b.example.com A', 'example.com GEO', 'new.example.com A']);
    expect(planChanges(desired, current, owned, 'upsert-only').changes.map((c) => c.action)).toEqual(['update', 'create', 'create']);
  });

  it('ignores value order: the same set in another order is no change', () => {
    const a: RRset = { name: 'x.example.com', type: 'A', ttl: 30, values: ['192.0.2.2', '192.0.2.1'] };
    const b: RRset = { ...a, values: ['192.0.2.1', '192.0.2.2'] };
    expect(planChanges({ rrsets: [a], geo: [] }, { rrsets: [b], geo: [] }, new Set([recordKey('x.example.com', 'A')])).changes).toEqual([]);
  });

  it('property: applying a plan then planning again changes nothing, and foreign records survive untouched', () => {
    const names = ['a', 'b', 'c', 'd', 'e'].map((n) => `${n}.example.com`);
    const set = fc.record({
      rrsets: fc.uniqueArray(fc.record({ name: fc.constantFrom(...names), ip: fc.constantFrom('192.0.2.1', '192.0.2.2', '192.0.2.3') }), { selector: (r) => r.name }).map((rs) => rs.map((r) => rr(r.name, r.ip))),
      geo: fc.uniqueArray(fc.record({ name: fc.constantFrom(...names), ip: fc.constantFrom('192.0.2.7', '192.0.2.8') }), { selector: (r) => r.name, maxLength: 2 }).map((gs) => gs.map((g) => geoOf(g.name, g.ip))),
    });
    fc.assert(
      fc.property(set, set, fc.subarray(names), fc.constantFrom('sync' as const, 'upsert-only' as const), (desired, current, ownedNames, policy) => {
        const owned = new Set(ownedNames.flatMap((n) => [recordKey(n, 'A'), recordKey(n, 'GEO')]));
        const plan = planChanges(desired, current, owned, policy);
        const after = applyPlan(current, plan);
        expect(planChanges(desired, after, new Set(plan.owned), policy).changes).toEqual([]);
        // Every record of `current` it did not own is in `after`, unchanged.
        const byKey = (s: RecordSet) => new Map([...s.rrsets.map((r) => [recordKey(r.name, r.type), JSON.stringify(r)] as const), ...s.geo.map((g) => [recordKey(g.name, 'GEO'), JSON.stringify(g)] as const)]);
        const now = byKey(after);
        for (const [key, value] of byKey(current)) if (!owned.has(key)) expect(now.get(key)).toBe(value);
        // upsert-only never deletes.
        if (policy === 'upsert-only') expect(plan.changes.filter((c) => c.action === 'delete')).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
