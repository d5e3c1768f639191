import { createHash } from 'node:crypto';
import type { CapacityPlan } from '@shardcast/contracts';

/**
 * Where the allocator placed each origin region's demand (capacity.plan.v1 `servedByOrigin`):
 * origin → serving region → requests per second. The allocator places an origin's demand at home
 * and spills what the home pool cannot take to the closest pools with room, on its forecast ahead
 * of the provisioning delay: so these shares move before a peak and back after it.
 */
export type PlannedRouting = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** Shares are rounded to this step before subnets are split: a plan that moves a few requests does not move DNS answers. */
export const ROUTING_SHARE_STEP = 0.05;

export function plannedRouting(plan: Pick<CapacityPlan, 'regions'>): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const r of plan.regions) {
    for (const piece of r.servedByOrigin) {
      if (!(piece.requestsPerSecond > 0)) continue;
      const byRegion = out.get(piece.origin) ?? new Map<string, number>();
      byRegion.set(r.region, (byRegion.get(r.region) ?? 0) + piece.requestsPerSecond);
      out.set(piece.origin, byRegion);
    }
  }
  return out;
}

/** Each origin's shares by serving region, rounded to the step, as a stable text: two routings that answer alike compare equal. */
export function routingKey(routing: PlannedRouting): string {
  const origins = [...routing.keys()].sort();
  return JSON.stringify(origins.map((o) => [o, roundedShares([...routing.get(o)!].map(([region, rate]) => ({ key: region, weight: rate }))).map((s) => [s.key, s.share])]));
}

/** Weights → shares in multiples of ROUTING_SHARE_STEP summing to 1 (largest remainder), zero shares dropped, in the input's order. */
export function roundedShares<K>(weights: ReadonlyArray<{ key: K; weight: number }>): Array<{ key: K; share: number }> {
  const total = weights.reduce((s, w) => s + Math.max(0, w.weight), 0);
  if (!(total > 0)) return [];
  const steps = Math.round(1 / ROUTING_SHARE_STEP);
  const exact = weights.map((w) => (Math.max(0, w.weight) / total) * steps);
  const whole = exact.map(Math.floor);
  let left = steps - whole.reduce((s, n) => s + n, 0);
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    whole[i] += 1;
    left -= 1;
  }
  return weights.map((w, i) => ({ key: w.key, share: whole[i] / steps })).filter((s) => s.share > 0);
}

/** How many addresses a subnet stands for (IPv6 counted in /64 sites): the weight of a subnet in a split. */
function subnetSize(cidr: string): number {
  const [address, bits] = cidr.split('/');
  return address.includes(':') ? 2 ** Math.max(0, 64 - Math.min(64, Number(bits))) : 2 ** (32 - Number(bits));
}

export interface SubnetSplitPart<K> {
  key: K;
  /** The share asked for. */
  target: number;
  /** The share of the region's addresses actually given (subnets are indivisible). */
  share: number;
  subnets: string[];
}

/**
 * Splits a client region's subnets between parts by address share, deterministically: the subnets
 * in an order of their own per domain (a hash of domain and subnet, so different domains split
 * different subnets and no resolver gets every domain's overflow), each given to the part its
 * address midpoint falls in. A small change of shares moves only the subnets at the boundaries.
 * IPv4 and IPv6 are split apart (their sizes do not compare).
 */
export function splitSubnets<K>(domain: string, cidrs: readonly string[], parts: ReadonlyArray<{ key: K; share: number }>): Array<SubnetSplitPart<K>> {
  const out = parts.map((p) => ({ key: p.key, target: p.share, share: 0, subnets: [] as string[] }));
  if (out.length === 0) return out;
  const total = { v4: 0, v6: 0 };
  const given = out.map(() => ({ v4: 0, v6: 0 }));
  for (const family of ['v4', 'v6'] as const) {
    const mine = cidrs
      .filter((cidr) => cidr.includes(':') === (family === 'v6'))
      .map((cidr) => ({ cidr, size: subnetSize(cidr), order: createHash('sha256').update(`${domain} ${cidr}`).digest('hex') }))
      .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    const sum = mine.reduce((s, x) => s + x.size, 0);
    total[family] = sum;
    let before = 0;
    for (const s of mine) {
      const mid = (before + s.size / 2) / sum;
      before += s.size;
      let acc = 0;
      let k = out.length - 1;
      for (let i = 0; i < out.length; i += 1) {
        acc += out[i].target;
        if (mid <= acc + 1e-12) {
          k = i;
          break;
        }
      }
      out[k].subnets.push(s.cidr);
      given[k][family] += s.size;
    }
  }
  // The realised share is IPv4's where there is IPv4 (the map's bulk), else IPv6's.
  const family = total.v4 > 0 ? 'v4' : 'v6';
  for (let i = 0; i < out.length; i += 1) {
    out[i].share = total[family] > 0 ? given[i][family] / total[family] : 0;
    out[i].subnets.sort();
  }
  return out;
}
