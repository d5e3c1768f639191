import type { RegionEndpoints, ShardAssigned } from '@shardcast/contracts';
import { PlannedRouting, roundedShares, splitSubnets } from './capacity';
import { ClientSubnet, subnetsByRegion } from './client-subnets';
import { GeoAnswer, GeoRecord, RRset } from './records';

/** Round trips between regions (`LatencyMatrix` from @shardcast/allocation fits); null: unknown. */
export interface RoundTrips {
  rttMs(a: string, b: string): number | null;
}

/** A shard's health as dns-publisher last heard it (`shard.health.v1`, joined by hostname); unknown counts as up. */
export type ShardHealth = 'up' | 'down';

/**
 * What a domain's clients get when none of its ordered shards is healthy: `open` answers all of
 * them (better a slow answer than none), `closed` answers nothing, `region` the shard in that
 * region whatever its health.
 */
export type FailurePolicy = { mode: 'open' } | { mode: 'closed' } | { mode: 'region'; region: string };

export interface DnsPolicy {
  /** TTL of every record (seconds). */
  readonly ttl: number;
  /** How many shards each client region's failover order holds. */
  readonly topN: number;
  readonly failure: FailurePolicy;
}

export const DEFAULT_DNS_POLICY: DnsPolicy = { ttl: 30, topN: 3, failure: { mode: 'open' } };

/** One client region's decision: its failover order and what it is answered, and why. */
export interface ClientDecision {
  clientRegion: string;
  /** Shard hostnames, closest first (active shards, then draining ones; warming ones never). */
  order: string[];
  /** The shard answered (null: all of them under fail-open, or none). */
  answered: string | null;
  answer: GeoAnswer;
  reason: 'closest-healthy' | 'failover' | 'capacity' | 'capacity-split' | 'fail-open' | 'fail-closed' | 'fail-to-region' | 'no-shard';
  /**
   * Set when the allocator serves this origin's demand in more than one region and the client
   * region's subnets are split between their shards by the planned shares (reason
   * `capacity-split`): `answered` is the part with the most addresses, the others answer their subnets.
   */
  split?: SplitPart[];
}

/** One shard's part of a split client region: the share asked for (the plan's, rounded), the share of addresses given, its subnets. */
export interface SplitPart {
  hostname: string;
  target: number;
  share: number;
  subnets: string[];
}

/** What capacity-aware answers need: the allocator's routing of the domain's demand, and the client subnet map to split regions by. */
export interface CapacityRouting {
  routing: PlannedRouting;
  subnets: readonly ClientSubnet[];
}

/** A domain's DNS as dns-publisher wants it: the shards' own names, and the domain's geo record. */
export interface DomainRecords {
  domain: string;
  /** `<slug>.<domain>` → the shard's endpoints (every shard, warming and draining included: they can be tested and drained). */
  rrsets: RRset[];
  /** The domain's own name answered per client region; null when the domain has no shard to answer. */
  geo: GeoRecord | null;
  decisions: ClientDecision[];
}

function endpointsAnswer(e: RegionEndpoints): GeoAnswer {
  return e.cname !== undefined ? { kind: 'cname', target: e.cname } : { kind: 'addresses', ipv4: [...e.ipv4].sort(), ipv6: [...e.ipv6].sort() };
}

/** The records of one shard's own name. */
function shardRRsets(hostname: string, e: RegionEndpoints, ttl: number): RRset[] {
  if (e.cname !== undefined) return [{ name: hostname, type: 'CNAME', ttl, values: [e.cname] }];
  const out: RRset[] = [];
  if (e.ipv4.length > 0) out.push({ name: hostname, type: 'A', ttl, values: [...e.ipv4].sort() });
  if (e.ipv6.length > 0) out.push({ name: hostname, type: 'AAAA', ttl, values: [...e.ipv6].sort() });
  return out;
}

/** The union of several shards' addresses (fail-open). CNAME shards cannot be merged into one answer: the first one stands for them. */
function unionAnswer(answers: GeoAnswer[]): GeoAnswer {
  const addresses = answers.filter((a): a is Extract<GeoAnswer, { kind: 'addresses' }> => a.kind === 'addresses');
  if (addresses.length === 0) return answers[0] ?? { kind: 'none' };
  return { kind: 'addresses', ipv4: [...new Set(addresses.flatMap((a) => a.ipv4))].sort(), ipv6: [...new Set(addresses.flatMap((a) => a.ipv6))].sort() };
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A domain's records from its latest layout and the shards' health, pure. Each client region gets
 * the domain's shards in failover order — active ones by round trip from the client region, then
 * draining ones (still serving while their keys move); warming ones never (no capacity yet) — and
 * is answered the first healthy one. When none is healthy the domain's failure policy decides.
 * Clients in no known region get the same rule over the shards in region order (stable, and it
 * needs no client data). The domain's own name is its zone's apex, where a CNAME is not allowed:
 * a shard reached only through a CNAME target keeps its own name but is not in the geo answers.
 */
export function domainRecords(
  layout: ShardAssigned,
  health: ReadonlyMap<string, ShardHealth>,
  clientRegions: readonly string[],
  latency: RoundTrips,
  policy: DnsPolicy = DEFAULT_DNS_POLICY,
  capacity: CapacityRouting | null = null,
): DomainRecords {
  const rrsets = layout.shards.flatMap((s) => shardRRsets(s.hostname, s.endpoints, policy.ttl));
  const serving = layout.shards.filter((s) => s.state !== 'warming' && s.endpoints.cname === undefined);
  if (serving.length === 0) return { domain: layout.domain, rrsets, geo: null, decisions: [] };
  const answerOf = new Map(serving.map((s) => [s.hostname, endpointsAnswer(s.endpoints)]));
  const up = (hostname: string) => health.get(hostname) !== 'down';
  const rtt = (client: string, region: string) => latency.rttMs(client, region) ?? Number.POSITIVE_INFINITY;

  const servingIn = new Map<string, string>();
  for (const s of [...serving].sort((a, b) => Number(a.state === 'draining') - Number(b.state === 'draining'))) if (!servingIn.has(s.region)) servingIn.set(s.region, s.hostname);
  const regionOf = new Map(serving.map((s) => [s.hostname, s.region]));

  /**
   * Capacity-aware answers: the client region's demand goes where the allocator planned to serve
   * it (its own region first, the overflow to the closest pools with room, ahead of a forecast
   * peak), each planned region's share to its shard, or to the first healthy shard of the order
   * when that region has no healthy serving shard. Null: no plan for this origin.
   */
  const routed = (clientRegion: string, order: string[], healthy: string): ClientDecision | null => {
    const routes = capacity?.routing.get(clientRegion);
    if (!capacity || !routes || routes.size === 0) return null;
    const weights = new Map<string, number>();
    for (const [region, rate] of routes) {
      const hostname = servingIn.get(region);
      const target = hostname !== undefined && up(hostname) ? hostname : healthy;
      weights.set(target, (weights.get(target) ?? 0) + rate);
    }
    const closestFirst = [...weights.keys()].sort((a, b) => rtt(clientRegion, regionOf.get(a)!) - rtt(clientRegion, regionOf.get(b)!) || byId(a, b));
    const shares = roundedShares(closestFirst.map((key) => ({ key, weight: weights.get(key)! })));
    if (shares.length === 0) return null;
    const single = (hostname: string): ClientDecision => ({
      clientRegion,
      order,
      answered: hostname,
      answer: answerOf.get(hostname)!,
      reason: hostname !== healthy ? 'capacity' : hostname === order[0] ? 'closest-healthy' : 'failover',
    });
    if (shares.length === 1) return single(shares[0].key);
    const parts = splitSubnets(layout.domain, subnetsByRegion(capacity.subnets).get(clientRegion) ?? [], shares);
    const given = parts.filter((p) => p.subnets.length > 0);
    if (given.length <= 1) return single(given[0]?.key ?? shares[0].key);
    const main = given.reduce((best, p) => (p.share > best.share ? p : best));
    return { ...single(main.key), reason: 'capacity-split', split: parts.map((p) => ({ hostname: p.key, target: p.target, share: p.share, subnets: p.subnets })) };
  };

  const decide = (clientRegion: string, order: string[]): ClientDecision => {
    const healthy = order.find(up);
    if (healthy !== undefined) return routed(clientRegion, order, healthy) ?? { clientRegion, order, answered: healthy, answer: answerOf.get(healthy)!, reason: healthy === order[0] ? 'closest-healthy' : 'failover' };
    const failure = policy.failure;
    if (failure.mode === 'closed') return { clientRegion, order, answered: null, answer: { kind: 'none' }, reason: 'fail-closed' };
    if (failure.mode === 'region') {
      const shard = serving.find((s) => s.region === failure.region);
      if (shard) return { clientRegion, order, answered: shard.hostname, answer: answerOf.get(shard.hostname)!, reason: 'fail-to-region' };
    }
    return { clientRegion, order, answered: null, answer: unionAnswer(order.map((h) => answerOf.get(h)!)), reason: 'fail-open' };
  };

  const orderFor = (client: string | null) => {
    const rank = (s: (typeof serving)[number]) => (client === null ? 0 : rtt(client, s.region));
    return [...serving]
      .sort((a, b) => Number(a.state === 'draining') - Number(b.state === 'draining') || rank(a) - rank(b) || byId(a.region, b.region))
      .slice(0, Math.max(1, policy.topN))
      .map((s) => s.hostname);
  };
  const decisions = [...new Set(clientRegions)].sort(byId).map((client) => decide(client, orderFor(client)));
  const fallback = decide('(unknown)', orderFor(null));
  const bySubnet: Record<string, GeoAnswer> = {};
  for (const d of decisions) for (const p of d.split ?? []) if (p.hostname !== d.answered) for (const cidr of p.subnets) bySubnet[cidr] = answerOf.get(p.hostname)!;
  const geo: GeoRecord = {
    name: layout.domain,
    ttl: policy.ttl,
    byClientRegion: Object.fromEntries(decisions.map((d) => [d.clientRegion, d.answer])),
    ...(Object.keys(bySubnet).length > 0 ? { bySubnet } : {}),
    fallback: fallback.answer,
  };
  return { domain: layout.domain, rrsets, geo, decisions };
}
