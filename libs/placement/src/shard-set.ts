import type { RankedRegion, RegionRanking } from './ranking';

/** The assigner's own lifecycle of a shard (health is another stream: decisions/0012). */
export const ShardStates = ['warming', 'active', 'draining'] as const;
export type ShardState = (typeof ShardStates)[number];

export interface ShardMember {
  region: string;
  state: ShardState;
  /** When the member entered its state (epoch ms). */
  sinceMs: number;
}

/** A region that has beaten the weakest member by the margin at every decision since `sinceMs`. */
export interface PendingChallenger {
  region: string;
  sinceMs: number;
}

/** A domain's shard set between decisions: members (draining ones included) and challengers on the clock. */
export interface ShardSet {
  members: ShardMember[];
  pending: PendingChallenger[];
}

export interface ShardSetPolicy {
  /** A challenger must score more than (1 + margin) × the weakest member's score. */
  readonly margin: number;
  /** ...at every decision for this long before it takes the weakest member's place. */
  readonly dwellMs: number;
  /** A new member is `warming` this long (its capacity coming up: the pools' provisioning delay), and while it holds none yet. */
  readonly warmupMs: number;
  /** A removed member stays `draining` (still served) this long, while its keys move; then it leaves the set. */
  readonly drainMs: number;
}

export const DEFAULT_SHARD_SET_POLICY: ShardSetPolicy = { margin: 0.2, dwellMs: 15 * 60_000, warmupMs: 10 * 60_000, drainMs: 30 * 60_000 };

export const EMPTY_SHARD_SET: ShardSet = { members: [], pending: [] };

/** Throws a RangeError on a policy no configuration should produce. */
export function checkShardSetPolicy(policy: ShardSetPolicy): void {
  for (const key of ['margin', 'dwellMs', 'warmupMs', 'drainMs'] as const) {
    const v = policy[key];
    if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`${key} must be a number ≥ 0, not ${v}`);
  }
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The next shard set of a domain from its latest ranking. Changes are of four kinds:
 * - a member no longer ranked (its reservation went to zero, no peak ahead) drains at once;
 * - free places (a new domain, a drained member, a larger tier) go at once to the best non-members;
 * - a set larger than the tier's count drains its weakest members at once;
 * - otherwise a non-member replaces the weakest member only after beating its score by more than
 *   `margin` at every decision for `dwellMs`: noise within the margin never changes the set.
 * Members added are `warming` until `warmupMs` has passed and they hold capacity now, then `active`;
 * removed ones are `draining` for `drainMs`, then gone. Pure; deterministic for its inputs.
 */
export function nextShardSet(previous: ShardSet | null, ranking: RegionRanking, nowMs: number, policy: ShardSetPolicy = DEFAULT_SHARD_SET_POLICY): ShardSet {
  checkShardSetPolicy(policy);
  const prev = previous ?? EMPTY_SHARD_SET;
  const ranked = new Map(ranking.regions.map((r) => [r.region, r]));
  const draining = new Map<string, ShardMember>();
  for (const m of prev.members) {
    if (m.state === 'draining' && nowMs - m.sinceMs < policy.drainMs) draining.set(m.region, m);
  }
  const serving = new Map<string, ShardMember>();
  for (const m of prev.members) {
    if (m.state === 'draining') continue;
    if (ranked.has(m.region)) serving.set(m.region, m);
    else draining.set(m.region, { region: m.region, state: 'draining', sinceMs: nowMs });
  }
  const add = (r: RankedRegion) => {
    draining.delete(r.region);
    serving.set(r.region, { region: r.region, state: 'warming', sinceMs: nowMs });
  };
  const remove = (region: string) => {
    serving.delete(region);
    draining.set(region, { region, state: 'draining', sinceMs: nowMs });
  };
  const weakest = (): RankedRegion | undefined => {
    let w: RankedRegion | undefined;
    // ranking.regions is best first: the last member found is the weakest.
    for (const r of ranking.regions) if (serving.has(r.region)) w = r;
    return w;
  };

  const target = Math.max(0, Math.floor(ranking.count));
  for (const r of ranking.regions) {
    if (serving.size >= target) break;
    if (!serving.has(r.region)) add(r);
  }
  while (serving.size > target) remove(weakest()!.region);

  // Challengers: best first, each against the weakest member of the set as it stands.
  const since = new Map(prev.pending.map((p) => [p.region, p.sinceMs]));
  const pending: PendingChallenger[] = [];
  for (const r of ranking.regions) {
    if (serving.has(r.region)) continue;
    const w = weakest();
    if (!w || !(r.score > w.score * (1 + policy.margin))) continue;
    const start = since.get(r.region) ?? nowMs;
    if (nowMs - start >= policy.dwellMs) {
      remove(w.region);
      add(r);
    } else {
      pending.push({ region: r.region, sinceMs: start });
    }
  }

  const members: ShardMember[] = [];
  for (const m of serving.values()) {
    const capacityNow = ranked.get(m.region)?.reservedNow ?? false;
    const ready = m.state === 'warming' && nowMs - m.sinceMs >= policy.warmupMs && capacityNow;
    members.push(ready ? { region: m.region, state: 'active', sinceMs: nowMs } : m);
  }
  members.push(...draining.values());
  members.sort((a, b) => byId(a.region, b.region));
  pending.sort((a, b) => byId(a.region, b.region));
  return { members, pending };
}

/** The regions keys may be placed on: warming and active members. */
export function servingRegions(set: ShardSet): string[] {
  return set.members.filter((m) => m.state !== 'draining').map((m) => m.region);
}
