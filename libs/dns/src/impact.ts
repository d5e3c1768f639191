import { ClientDecision } from './answers';

/** Queries of a client region that move from one answered shard to another. */
export interface TrafficMove {
  clientRegion: string;
  from: string | null;
  to: string | null;
  /** Share of the client region's queries that move (1: all of them; a region's clients share one answer). */
  share: number;
  /** Share of all of the domain's queries, by the client regions' weights. */
  shareOfAll: number;
}

/**
 * What a change of answers does to traffic: for each client region whose answered shard changes,
 * its queries move from the old shard to the new, weighted by how many of the domain's queries
 * the region sends (`weights`, e.g. demand by origin; missing: equal). Pure.
 */
export function trafficImpact(before: readonly ClientDecision[], after: readonly ClientDecision[], weights: ReadonlyMap<string, number> = new Map()): TrafficMove[] {
  const was = new Map(before.map((d) => [d.clientRegion, d]));
  const regions = [...new Set([...before.map((d) => d.clientRegion), ...after.map((d) => d.clientRegion)])].sort();
  const weightOf = (r: string) => (weights.size === 0 ? 1 : (weights.get(r) ?? 0));
  const total = regions.reduce((s, r) => s + weightOf(r), 0) || 1;
  const moves: TrafficMove[] = [];
  for (const d of after) {
    const old = was.get(d.clientRegion);
    const from = old ? label(old) : null;
    const to = label(d);
    if (from === to) continue;
    moves.push({ clientRegion: d.clientRegion, from, to, share: 1, shareOfAll: weightOf(d.clientRegion) / total });
  }
  for (const d of before) if (!after.some((a) => a.clientRegion === d.clientRegion)) moves.push({ clientRegion: d.clientRegion, from: label(d), to: null, share: 1, shareOfAll: weightOf(d.clientRegion) / total });
  return moves.sort((a, b) => b.shareOfAll - a.shareOfAll || (a.clientRegion < b.clientRegion ? -1 : 1));
}

/** The shard a decision answers, or what stands for it (fail-open answers all, fail-closed none). */
function label(d: ClientDecision): string | null {
  if (d.answered !== null) return d.answered;
  return d.reason === 'fail-open' ? `all of ${d.order.join(',')}` : null;
}

/** One line per move, for a dry run's readable table. */
export function impactTable(moves: readonly TrafficMove[]): string {
  if (moves.length === 0) return 'no client region changes answer';
  return moves.map((m) => `~${Math.round(m.shareOfAll * 100)} % of all queries (${m.clientRegion} clients): ${m.from ?? '(nothing)'} → ${m.to ?? '(nothing)'}`).join('\n');
}
