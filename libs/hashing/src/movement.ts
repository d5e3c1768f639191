import { HashLayout } from './layout';
import { ShardMap } from './table';

export interface Flow {
  readonly from: string;
  readonly to: string;
  /** Fraction of the whole key space. */
  readonly fraction: number;
}

export interface MovementPlan {
  /** Fraction of the key space whose shard changes (the sum of the flows). */
  readonly moved: number;
  /** True when computed from the two tables (same seed); false for the independence estimate. */
  readonly exact: boolean;
  /** Largest first, then by from, to. */
  readonly flows: readonly Flow[];
}

/**
 * Which fraction of the key space moves from which shard to which between two layouts. Exact when
 * the seeds match (slot by slot; a key's slot in the coarser table is its finer slot's low bits).
 * With different seeds every key is hashed anew, so the plan is the independence estimate
 * share_old(from) × share_new(to). A layout with no shards on either side moves nothing
 * (there is nowhere to migrate from, or to).
 */
export function movementPlan(previous: HashLayout, next: HashLayout): MovementPlan {
  const before = new ShardMap(previous);
  const after = new ShardMap(next);
  if (before.shardIds.length === 0 || after.shardIds.length === 0) return { moved: 0, exact: true, flows: [] };
  const counts = new Map<string, number>();
  const add = (from: string, to: string, amount: number): void => {
    if (from === to) return;
    const key = `${from}\n${to}`;
    counts.set(key, (counts.get(key) ?? 0) + amount);
  };
  let exact = true;
  let total: number;
  if (previous.seed === next.seed) {
    const a = before.slots();
    const b = after.slots();
    total = Math.max(a.length, b.length);
    for (let slot = 0; slot < total; slot++) {
      add(before.shardIds[a[slot & (a.length - 1)]], after.shardIds[b[slot & (b.length - 1)]], 1);
    }
  } else {
    exact = false;
    total = 1;
    const shares = (map: ShardMap) => map.slotCounts().map((c) => c / 2 ** map.layout.tableBits);
    const sa = shares(before);
    const sb = shares(after);
    sa.forEach((pa, i) => sb.forEach((pb, j) => add(before.shardIds[i], after.shardIds[j], pa * pb)));
  }
  const flows = [...counts].map(([key, amount]) => {
    const [from, to] = key.split('\n');
    return { from, to, fraction: amount / total };
  });
  flows.sort((x, y) => y.fraction - x.fraction || (x.from < y.from ? -1 : x.from > y.from ? 1 : x.to < y.to ? -1 : x.to > y.to ? 1 : 0));
  return { moved: flows.reduce((s, f) => s + f.fraction, 0), exact, flows };
}
