import type { CapacityPlan, RegionEndpoints, ResourceNeed, ShardAssigned } from '@shardcast/contracts';
import { ALGORITHM, DEFAULT_LOAD_BOUND_PERMILLE, DEFAULT_TABLE_BITS, DEFAULT_WEIGHT_QUANTISATION, HashLayout, movementPlan, MovementPlan, quantiseWeights, WeightQuantisation, xxh32Utf8 } from '@shardcast/hashing';
import { DEFAULT_RANKING_POLICY, rankRegions, RankingPolicy, RoundTrips } from './ranking';
import { EMPTY_SHARD_SET, nextShardSet, ShardSet, ShardSetPolicy, DEFAULT_SHARD_SET_POLICY } from './shard-set';
import { RegionSlugs, shardName, ShardNameError } from './names';

/** A layout as the assigner decides it: `shard.assigned.v1`'s payload. */
export type Layout = ShardAssigned;

/**
 * What the assigner keeps per domain between decisions (plain JSON): the shard set with its
 * clocks, the latest capacity plan (a tick re-decides from it), and the layout last published.
 */
export interface AssignmentState {
  domain: string;
  /** The version of `layout` (0: nothing published yet). */
  version: number;
  set: ShardSet;
  /** The latest capacity plan applied (null: none yet, or the domain was released). */
  plan: CapacityPlan | null;
  /** The layout last published (null: none yet). */
  layout: Layout | null;
  /** Its final, empty layout is published: only a newer plan with regions brings the domain back. */
  released: boolean;
}

export type AssignmentInput = { kind: 'plan'; plan: CapacityPlan } | { kind: 'tick' };

export interface AssignmentPolicy {
  readonly ranking: RankingPolicy;
  readonly shardSet: ShardSetPolicy;
  readonly weights: WeightQuantisation;
  readonly slugs: RegionSlugs;
  readonly tableBits: number;
  readonly loadBoundPermille: number;
}

export const DEFAULT_ASSIGNMENT_POLICY: AssignmentPolicy = {
  ranking: DEFAULT_RANKING_POLICY,
  shardSet: DEFAULT_SHARD_SET_POLICY,
  weights: DEFAULT_WEIGHT_QUANTISATION,
  slugs: {},
  tableBits: DEFAULT_TABLE_BITS,
  loadBoundPermille: DEFAULT_LOAD_BOUND_PERMILLE,
};

export interface Assignment {
  /** The state to keep (equal to the previous one when nothing changed: `changed` false). */
  state: AssignmentState;
  changed: boolean;
  /** A new layout to publish (its version is state.version), or null. */
  layout: Layout | null;
  /** The domain was released by this decision: after `layout` (empty), a tombstone. */
  tombstone: boolean;
  /** Regions left out because their shard name would be broken (never published). */
  refusedNames: Array<{ region: string; error: ShardNameError }>;
  /** Why nothing happened, when a plan was ignored. */
  ignored?: 'stale-plan';
}

export function newAssignmentState(domain: string): AssignmentState {
  return { domain, version: 0, set: EMPTY_SHARD_SET, plan: null, layout: null, released: false };
}

/** The seed of a domain's key table: fixed per domain, so movement between versions is exact (slot by slot). */
export function layoutSeed(domain: string): number {
  return xxh32Utf8(domain, 0);
}

const size = (n: ResourceNeed) => n.cpuCores + n.memoryGiB + n.egressMbps;
const NO_ENDPOINTS: RegionEndpoints = { ipv4: [], ipv6: [] };

/**
 * One decision of the shard-assigner, pure: from the domain's state and a new capacity plan (or a
 * tick: time passing), the next state and, when the layout changed, the layout to publish with
 * the next version. The set follows `nextShardSet` (hysteresis, lifecycle); weights follow each
 * shard's reserved capacity through `quantiseWeights` (a small change keeps the weight, so keys do
 * not move on every plan); movement is computed between the active shards of the two layouts,
 * and `pendingMovement` for when the warming shards become active. A plan with no regions is a
 * release: an empty layout, then a tombstone. A plan older than the one held is ignored.
 */
export function assignShards(previous: AssignmentState, input: AssignmentInput, nowMs: number, latency: RoundTrips, policy: AssignmentPolicy = DEFAULT_ASSIGNMENT_POLICY): Assignment {
  const unchanged = (extra: Partial<Assignment> = {}): Assignment => ({ state: previous, changed: false, layout: null, tombstone: false, refusedNames: [], ...extra });
  let plan = previous.plan;
  if (input.kind === 'plan') {
    if (previous.plan && input.plan.version <= previous.plan.version) return unchanged({ ignored: 'stale-plan' });
    plan = input.plan;
  }
  if (!plan) return unchanged();
  if (plan.regions.length === 0) {
    // Released: the final, empty layout (once), then a tombstone.
    const state: AssignmentState = { ...previous, set: EMPTY_SHARD_SET, plan, released: true };
    if (previous.released || previous.layout === null) return { state, changed: true, layout: null, tombstone: false, refusedNames: [] };
    const layout = finish(previous, [], previous.layout.ring, null);
    return { state: { ...state, version: layout.version, layout }, changed: true, layout, tombstone: true, refusedNames: [] };
  }
  if (input.kind === 'tick' && previous.released) return unchanged();

  const ranking = rankRegions(plan, latency, nowMs, policy.ranking);
  const set = nextShardSet(previous.released ? null : previous.set, ranking, nowMs, policy.shardSet);
  const planned = new Map(plan.regions.map((r) => [r.region, r]));
  const before = new Map((previous.layout?.shards ?? []).map((s) => [s.region, s]));

  const refusedNames: Assignment['refusedNames'] = [];
  const members: Array<{ region: string; hostname: string; state: Layout['shards'][number]['state'] }> = [];
  for (const m of set.members) {
    const name = shardName(m.region, plan.domain, policy.slugs);
    if (!name.ok) refusedNames.push({ region: m.region, error: name.error });
    else members.push({ region: m.region, hostname: name.value, state: m.state });
  }

  // Capacity a serving shard holds: now, or its largest scheduled block ahead (a region joining for a peak).
  const capacity = new Map<string, number>();
  for (const m of members) {
    if (m.state === 'draining') continue;
    const r = planned.get(m.region);
    const ahead = r ? Math.max(size(r.reserved), ...r.schedule.map((b) => size(b.reserved))) : 0;
    capacity.set(m.hostname, ahead);
  }
  // A region with capacity but none stated (all zero) still needs a weight: the smallest one stated, or 1.
  const positive = [...capacity.values()].filter((c) => c > 0);
  const floor = positive.length > 0 ? Math.min(...positive) : 1;
  for (const [h, c] of capacity) if (!(c > 0)) capacity.set(h, floor);
  const weights = quantiseWeights(capacity, new Map((previous.layout?.shards ?? []).filter((s) => s.state !== 'draining').map((s) => [s.hostname, s.weight])), policy.weights);

  const shards: Layout['shards'] = members.map((m) => ({
    region: m.region,
    hostname: m.hostname,
    state: m.state,
    weight: weights.get(m.hostname) ?? before.get(m.region)?.weight ?? 1,
    endpoints: planned.get(m.region)?.endpoints ?? before.get(m.region)?.endpoints ?? NO_ENDPOINTS,
  }));
  const ring = previous.layout?.ring ?? ringOf(plan.domain, policy);
  const state: AssignmentState = { ...previous, set, plan, released: false };
  const same = previous.layout !== null && !previous.released && sameShards(previous.layout.shards, shards) && sameRing(previous.layout.ring, ring);
  if (same) {
    const changed = canonicalJson(previous.set) !== canonicalJson(set) || previous.plan !== plan;
    return { state, changed, layout: null, tombstone: false, refusedNames };
  }
  const layout = finish(previous, shards, ring, { planId: plan.planId, planVersion: plan.version });
  return { state: { ...state, version: layout.version, layout }, changed: true, layout, tombstone: false, refusedNames };
}

function ringOf(domain: string, policy: AssignmentPolicy): Layout['ring'] {
  return { algorithm: ALGORITHM, seed: layoutSeed(domain), tableBits: policy.tableBits, loadBoundPermille: policy.loadBoundPermille };
}

/** The key table of a layout: its active shards only (warming ones get no keys yet, draining ones none any more). */
export function activeHashLayout(shards: Layout['shards'], ring: Layout['ring'], promoteWarming = false): HashLayout {
  const serving = shards.filter((s) => s.state === 'active' || (promoteWarming && s.state === 'warming'));
  return { seed: ring.seed, tableBits: ring.tableBits, loadBoundPermille: ring.loadBoundPermille, shards: serving.map((s) => ({ id: s.hostname, weight: s.weight })) };
}

function finish(previous: AssignmentState, shards: Layout['shards'], ring: Layout['ring'], source: Layout['source']): Layout {
  const version = previous.version + 1;
  const prior = previous.layout;
  const current = activeHashLayout(shards, ring);
  const movement = prior ? movementOf(prior.version, movementPlan(activeHashLayout(prior.shards, prior.ring), current)) : { fromVersion: null, moved: 0, exact: true, flows: [] };
  const pendingMovement = shards.some((s) => s.state === 'warming') ? movementOf(version, movementPlan(current, activeHashLayout(shards, ring, true))) : null;
  return {
    domain: previous.domain,
    version,
    shards: [...shards].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0)),
    ring,
    movement,
    pendingMovement,
    source,
  };
}

function movementOf(fromVersion: number, m: MovementPlan): Layout['movement'] {
  // Rounded to 1e-9: the table's fractions are exact multiples of 2^-bits; sums need not print alike.
  const r = (x: number) => Math.min(1, Math.round(x * 1e9) / 1e9);
  return { fromVersion, moved: r(m.moved), exact: m.exact, flows: m.flows.map((f) => ({ from: f.from, to: f.to, fraction: r(f.fraction) })) };
}

function sameShards(a: Layout['shards'], b: Layout['shards']): boolean {
  const key = (s: Layout['shards']) => canonicalJson([...s].sort((x, y) => (x.hostname < y.hostname ? -1 : x.hostname > y.hostname ? 1 : 0)));
  return key(a) === key(b);
}

/** JSON with object keys sorted: state read back from PostgreSQL's jsonb has its keys in another order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function sameRing(a: Layout['ring'], b: Layout['ring']): boolean {
  return a.algorithm === b.algorithm && a.seed === b.seed && a.tableBits === b.tableBits && a.loadBoundPermille === b.loadBoundPermille;
}
