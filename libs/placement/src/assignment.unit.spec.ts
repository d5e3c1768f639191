import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CapacityPlan, CapacityPlanSchema, ShardAssignedSchema, Tier } from '@shardcast/contracts';
import { LatencyMatrix } from '@shardcast/allocation';
import { parseRegionTable } from '@shardcast/geo';
import { ShardMap } from '@shardcast/hashing';
import { activeHashLayout, Assignment, AssignmentState, assignShards, canonicalJson, DEFAULT_ASSIGNMENT_POLICY, layoutSeed, newAssignmentState } from './assignment';

const ROOT = resolve(__dirname, '../../..');
const latency = new LatencyMatrix(
  JSON.parse(readFileSync(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json'), 'utf8')),
  parseRegionTable(readFileSync(resolve(ROOT, 'data/regions/awsData.js'), 'utf8')),
);
const T0 = Date.parse('2026-12-02T12:00:00Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const need = (rps: number) => ({ cpuCores: rps / 1000, memoryGiB: rps / 10_000, egressMbps: rps / 100 });
const DOMAIN = 'app.example.com';
const { warmupMs, drainMs } = DEFAULT_ASSIGNMENT_POLICY.shardSet;

/** A plan of `version` serving each region's own demand (requests/s). */
function plan(version: number, served: Record<string, number>, tier: Tier = 'pro', domain = DOMAIN): CapacityPlan {
  return CapacityPlanSchema.parse({
    domain,
    tier,
    version,
    planId: `plan-${version}`,
    validFrom: iso(T0),
    validUntil: iso(T0 + 24 * 60 * MIN),
    regions: Object.entries(served).map(([region, rps]) => ({
      region,
      reason: 'proactive',
      quantile: 'p90',
      reserved: need(rps),
      requestsPerSecond: rps,
      shortRequestsPerSecond: 0,
      poolHeadroom: need(10_000),
      endpoints: { ipv4: ['192.0.2.1'], ipv6: [] },
      servedByOrigin: [{ origin: region, requestsPerSecond: rps, forecastEventId: 'f-1' }],
      schedule: [],
    })),
    shortByOrigin: [],
  });
}
const released = (version: number) => CapacityPlanSchema.parse({ ...plan(version, {}), regions: [] });

/** What PostgreSQL gives back: the state through JSON, object keys in another order (jsonb sorts them). */
function throughJsonb(state: AssignmentState): AssignmentState {
  return JSON.parse(JSON.stringify(state, (_k, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as object).reverse()) : v)));
}

function run(steps: Array<[number, CapacityPlan | 'tick']>, start = newAssignmentState(DOMAIN)): { state: AssignmentState; decisions: Assignment[] } {
  let state = start;
  const decisions: Assignment[] = [];
  for (const [atMs, input] of steps) {
    const d = assignShards(throughJsonb(state), input === 'tick' ? { kind: 'tick' } : { kind: 'plan', plan: input }, atMs, latency);
    decisions.push(d);
    state = d.state;
  }
  return { state, decisions };
}
const published = (ds: Assignment[]) => ds.flatMap((d) => (d.layout ? [d.layout] : []));

describe('assignShards', () => {
  it('gives a registered domain with no telemetry its shards from the prior plan: warming, then active after the warm-up', () => {
    const prior = plan(1, { 'eu-west-1': 0.5 }, 'free');
    const { decisions } = run([[T0, prior], [T0 + warmupMs - 1, 'tick'], [T0 + warmupMs, 'tick']]);
    const [first, early, ready] = decisions;
    expect(first.layout).toMatchObject({ domain: DOMAIN, version: 1, source: { planId: 'plan-1', planVersion: 1 }, movement: { fromVersion: null, moved: 0 } });
    expect(first.layout!.shards).toEqual([{ region: 'eu-west-1', hostname: 'eu-west-1.app.example.com', state: 'warming', weight: 1000, endpoints: { ipv4: ['192.0.2.1'], ipv6: [] } }]);
    expect(first.layout!.ring).toEqual({ algorithm: 'bounded-rendezvous-table-xxh32', seed: layoutSeed(DOMAIN), tableBits: 16, loadBoundPermille: 50 });
    expect(early.layout).toBeNull();
    expect(ready.layout).toMatchObject({ version: 2, shards: [{ state: 'active' }] });
    for (const l of published(decisions)) expect(ShardAssignedSchema.safeParse(l).success).toBe(true);
  });

  it('publishes the movement ahead: warming shards carry the keys they will take when active', () => {
    const { decisions } = run([
      [T0, plan(1, { 'us-east-1': 600, 'eu-west-1': 400 })],
      [T0 + warmupMs, 'tick'],
      [T0 + warmupMs + MIN, plan(2, { 'us-east-1': 600, 'eu-west-1': 400, 'ap-south-1': 250 })],
      [T0 + 2 * warmupMs + MIN, 'tick'],
    ]);
    const [, active, added, joined] = published(decisions);
    expect(active.pendingMovement).toBeNull();
    expect(added.shards.find((s) => s.region === 'ap-south-1')!.state).toBe('warming');
    // Keys do not move while the new shard warms: the active table is unchanged.
    expect(added.movement.moved).toBe(0);
    const share = 250 / 1250;
    expect(added.pendingMovement!.fromVersion).toBe(added.version);
    expect(added.pendingMovement!.moved).toBeGreaterThan(share * 0.9);
    expect(added.pendingMovement!.moved).toBeLessThan(share * 1.1);
    expect(added.pendingMovement!.flows.every((f) => f.to === 'ap-south-1.app.example.com')).toBe(true);
    // When it becomes active, the keys move as announced.
    expect(joined.movement).toEqual({ ...added.pendingMovement, fromVersion: added.version });
  });

  it('does not publish on capacity changes within the weight hysteresis, nor on a stale or repeated plan', () => {
    const { decisions } = run([
      [T0, plan(1, { 'us-east-1': 600, 'eu-west-1': 400 })],
      [T0 + warmupMs, 'tick'],
      [T0 + warmupMs + MIN, plan(2, { 'us-east-1': 620, 'eu-west-1': 390 })],
      [T0 + warmupMs + 2 * MIN, plan(2, { 'us-east-1': 900, 'eu-west-1': 100 })],
      [T0 + warmupMs + 3 * MIN, plan(1, { 'us-east-1': 900, 'eu-west-1': 100 })],
      [T0 + warmupMs + 4 * MIN, 'tick'],
    ]);
    expect(decisions.map((d) => d.layout?.version ?? null)).toEqual([1, 2, null, null, null, null]);
    expect(decisions[2].changed).toBe(true); // the new plan is kept for ticks
    expect(decisions.slice(3, 5).map((d) => d.ignored)).toEqual(['stale-plan', 'stale-plan']);
    expect(decisions[5].changed).toBe(false);
  });

  it('moves keys when weights pass the hysteresis step, and only between the shards whose weights changed', () => {
    const { decisions } = run([
      [T0, plan(1, { 'us-east-1': 600, 'eu-west-1': 400 })],
      [T0 + warmupMs, 'tick'],
      [T0 + warmupMs + MIN, plan(2, { 'us-east-1': 800, 'eu-west-1': 200 })],
    ]);
    const [, before, after] = published(decisions);
    expect(after.shards.map((s) => s.weight)).toEqual([200, 800]);
    expect(after.movement.fromVersion).toBe(before.version);
    expect(after.movement.flows.map((f) => [f.from, f.to])).toEqual([['eu-west-1.app.example.com', 'us-east-1.app.example.com']]);
    expect(after.movement.moved).toBeGreaterThan(0.15);
    expect(after.movement.moved).toBeLessThan(0.25);
  });

  it('releases a domain: an empty layout with no source, then a tombstone, once; a newer plan brings it back', () => {
    const { decisions } = run([
      [T0, plan(1, { 'us-east-1': 600 })],
      [T0 + MIN, released(2)],
      [T0 + 2 * MIN, 'tick'],
      [T0 + 3 * MIN, released(3)],
      [T0 + 4 * MIN, plan(4, { 'eu-west-1': 100 })],
    ]);
    expect(decisions.map((d) => [d.layout?.version ?? null, d.tombstone])).toEqual([[1, false], [2, true], [null, false], [null, false], [3, false]]);
    expect(decisions[1].layout).toMatchObject({ shards: [], source: null, pendingMovement: null });
    expect(decisions[4].layout!.shards.map((s) => [s.region, s.state])).toEqual([['eu-west-1', 'warming']]);
  });

  it('drains a shard whose region lost its capacity, then drops it after the drain time', () => {
    const { decisions } = run([
      [T0, plan(1, { 'us-east-1': 600, 'eu-west-1': 400 })],
      [T0 + warmupMs, 'tick'],
      [T0 + warmupMs + MIN, plan(2, { 'us-east-1': 600 })],
      [T0 + warmupMs + MIN + drainMs, 'tick'],
    ]);
    const [, , draining, gone] = published(decisions);
    const eu = draining.shards.find((s) => s.region === 'eu-west-1')!;
    expect(eu).toMatchObject({ state: 'draining', weight: 400, endpoints: { ipv4: ['192.0.2.1'], ipv6: [] } });
    expect(draining.movement.flows).toEqual([{ from: 'eu-west-1.app.example.com', to: 'us-east-1.app.example.com', fraction: expect.closeTo(0.4, 1) }]);
    expect(gone.shards.map((s) => s.region)).toEqual(['us-east-1']);
    expect(gone.movement.moved).toBe(0);
  });

  it('never publishes a broken name: a region whose shard name is too long is left out and reported', () => {
    const domain = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(55)}.com`; // 240 characters
    const slugs = { 'us-east-1': 'us-east', 'ap-southeast-1': 'asia-pacific-se' };
    const d = assignShards(newAssignmentState(domain), { kind: 'plan', plan: plan(1, { 'us-east-1': 500, 'ap-southeast-1': 400 }, 'pro', domain) }, T0, latency, { ...DEFAULT_ASSIGNMENT_POLICY, slugs });
    expect(d.layout!.shards.map((s) => s.hostname)).toEqual([`us-east.${domain}`]);
    expect(d.refusedNames).toEqual([{ region: 'ap-southeast-1', error: { code: 'NAME_TOO_LONG', reason: expect.any(String) } }]);
    expect(ShardAssignedSchema.safeParse(d.layout).success).toBe(true);
  });

  it('property: versions rise by one per layout, every layout is valid, keys map to active shards only, and replaying a decision from its stored state gives the same result', () => {
    const regions = ['us-east-1', 'eu-west-1', 'ap-south-1', 'sa-east-1', 'ap-northeast-1'];
    const step = fc.oneof(
      fc.record({ kind: fc.constant('plan' as const), served: fc.dictionary(fc.constantFrom(...regions), fc.integer({ min: 1, max: 5000 }), { maxKeys: 5 }), tier: fc.constantFrom<Tier>('free', 'pro', 'enterprise') }),
      fc.record({ kind: fc.constant('tick' as const) }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(step, fc.integer({ min: 0, max: 40 * MIN })), { minLength: 1, maxLength: 25 }), (steps) => {
        let state = newAssignmentState(DOMAIN);
        let at = T0;
        let planVersion = 0;
        let lastVersion = 0;
        for (const [s, gap] of steps) {
          at += gap;
          const input = s.kind === 'tick' ? ({ kind: 'tick' } as const) : ({ kind: 'plan', plan: Object.keys(s.served).length === 0 ? released(++planVersion) : plan(++planVersion, s.served, s.tier) } as const);
          const d = assignShards(throughJsonb(state), input, at, latency);
          const again = assignShards(throughJsonb(state), input, at, latency);
          expect(canonicalJson(again)).toBe(canonicalJson(d));
          if (d.layout) {
            expect(d.layout.version).toBe(lastVersion + 1);
            lastVersion = d.layout.version;
            expect(ShardAssignedSchema.safeParse(d.layout).success).toBe(true);
            const map = new ShardMap(activeHashLayout(d.layout.shards, d.layout.ring));
            const active = new Set(d.layout.shards.filter((x) => x.state === 'active').map((x) => x.hostname));
            for (const key of ['user-1', 'tenant-42', 'session-x']) {
              const shard = map.shardFor(key);
              expect(shard === undefined ? active.size === 0 : active.has(shard)).toBe(true);
            }
          }
          expect(d.state.version).toBe(lastVersion);
          state = d.state;
        }
      }),
      { numRuns: 60 },
    );
  });
});
