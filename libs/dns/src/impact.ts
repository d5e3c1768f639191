import { ClientDecision } from './answers';

/** Queries of a client region that move from one answered shard to another. */
export interface TrafficMove {
  clientRegion: string;
  from: string | null;
  to: string | null;
  /** Share of the client region's queries that move (1: all of them; in a capacity split, the moved subnets' share of its addresses). */
  share: number;
  /** Share of all of the domain's queries, by the client regions' weights. */
  shareOfAll: number;
}

/**
 * What a change of answers does to traffic: for each client region whose answered shard changes,
 * its queries move from the old shard to the new, weighted by how many of the domain's queries
 * the region sends (`weights`, e.g. demand by origin; missing: equal). A region split by capacity
 * moves subnet by subnet, each by its share of the region's addresses. Pure.
 */
export function trafficImpact(before: readonly ClientDecision[], after: readonly ClientDecision[], weights: ReadonlyMap<string, number> = new Map()): TrafficMove[] {
  const was = new Map(before.map((d) => [d.clientRegion, d]));
  const now = new Map(after.map((d) => [d.clientRegion, d]));
  const regions = [...new Set([...was.keys(), ...now.keys()])].sort();
  const weightOf = (r: string) => (weights.size === 0 ? 1 : (weights.get(r) ?? 0));
  const total = regions.reduce((s, r) => s + weightOf(r), 0) || 1;
  const moves: TrafficMove[] = [];
  for (const region of regions) {
    for (const f of regionFlows(was.get(region), now.get(region))) {
      if (f.from === f.to || f.share <= 0) continue;
      moves.push({ clientRegion: region, from: f.from, to: f.to, share: f.share, shareOfAll: (f.share * weightOf(region)) / total });
    }
  }
  return moves.sort((a, b) => b.shareOfAll - a.shareOfAll || (a.clientRegion < b.clientRegion ? -1 : a.clientRegion > b.clientRegion ? 1 : 0));
}

/** How one region's queries flow from the old answers to the new: whole, or subnet by subnet when either side is split. */
function regionFlows(b: ClientDecision | undefined, a: ClientDecision | undefined): Array<{ from: string | null; to: string | null; share: number }> {
  const from = (cidr: string) => labelFor(b, cidr);
  const to = (cidr: string) => labelFor(a, cidr);
  const cidrs = [...new Set([...(b?.split ?? []), ...(a?.split ?? [])].flatMap((p) => p.subnets))];
  if (cidrs.length === 0) return [{ from: b ? label(b) : null, to: a ? label(a) : null, share: 1 }];
  // IPv4 where there is IPv4 (sizes of the two families do not compare).
  const counted = cidrs.some((c) => !c.includes(':')) ? cidrs.filter((c) => !c.includes(':')) : cidrs;
  const size = (cidr: string) => 2 ** ((cidr.includes(':') ? 64 : 32) - Math.min(cidr.includes(':') ? 64 : 32, Number(cidr.split('/')[1])));
  const totalSize = counted.reduce((s, c) => s + size(c), 0);
  const flows = new Map<string, { from: string | null; to: string | null; share: number }>();
  for (const cidr of counted) {
    const key = `${from(cidr)}\u0000${to(cidr)}`;
    const f = flows.get(key) ?? { from: from(cidr), to: to(cidr), share: 0 };
    f.share += size(cidr) / totalSize;
    flows.set(key, f);
  }
  return [...flows.values()];
}

function labelFor(d: ClientDecision | undefined, cidr: string): string | null {
  if (!d) return null;
  const part = d.split?.find((p) => p.subnets.includes(cidr));
  return part ? part.hostname : label(d);
}

/** The shard a decision answers, or what stands for it (fail-open answers all, fail-closed none). */
function label(d: ClientDecision): string | null {
  if (d.answered !== null) return d.answered;
  return d.reason === 'fail-open' ? `all of ${d.order.join(',')}` : null;
}

/** One line per move, for a dry run's readable table. */
export function impactTable(moves: readonly TrafficMove[]): string {
  if (moves.length === 0) return 'no client region changes answer';
  return moves
    .map((m) => `~${Math.round(m.shareOfAll * 100)} % of all queries (${m.share < 1 ? `~${Math.round(m.share * 100)} % of ` : ''}${m.clientRegion} clients): ${m.from ?? '(nothing)'} → ${m.to ?? '(nothing)'}`)
    .join('\n');
}
