import { ClientSubnet, cidrProblem, subnetsByRegion } from '../client-subnets';
import { GeoRecord, geoProblems } from '../records';
import { RenderRefused } from './zone-file';

/** A PowerDNS LUA record's content: the type it answers and the Lua expression. */
export interface LuaRecord {
  readonly name: string;
  readonly ttl: number;
  /** The RRset type PowerDNS stores: LUA; `content` starts with the answered type. */
  readonly content: string;
}

const quote = (items: readonly string[]) => `{${items.map((i) => `'${i}'`).join(', ')}}`;

/**
 * PowerDNS LUA records for a geo record: `view()` over the client subnet map (the client is the
 * EDNS Client Subnet when present, else the resolver: `bestwho`), one entry per client region with
 * an answer, then the fallback for everyone else (0.0.0.0/0 and ::/0). One LUA record per answered
 * type (A, AAAA). The subnets are a generated map, not GeoIP lookups: no database on the server,
 * and the same map as Knot's, so both answer alike. Only validated tokens (CIDRs, addresses) are
 * written between quotes: nothing can close a string or inject Lua.
 */
export function renderPdnsLua(geo: GeoRecord, map: readonly ClientSubnet[]): LuaRecord[] {
  const problems = geoProblems(geo);
  for (const s of map) {
    const p = cidrProblem(s.cidr);
    if (p) problems.push(`client subnet ${s.cidr}: ${p}`);
  }
  if (problems.length > 0) throw new RenderRefused(problems);
  const byRegion = subnetsByRegion(map);
  const out: LuaRecord[] = [];
  for (const type of ['A', 'AAAA'] as const) {
    const pick = (a: GeoRecord['fallback']) => (a.kind === 'addresses' ? (type === 'A' ? a.ipv4 : a.ipv6) : []);
    const views: string[] = [];
    for (const [region, cidrs] of byRegion) {
      const answer = geo.byClientRegion[region];
      if (!answer) continue;
      // A region answered nothing of this type still gets its entry: it must not fall through to the fallback.
      views.push(`{${quote(cidrs)}, ${quote(pick(answer))}}`);
    }
    const fallback = pick(geo.fallback);
    views.push(`{${quote(['0.0.0.0/0', '::/0'])}, ${quote(fallback)}}`);
    const anyAnswer = fallback.length > 0 || Object.values(geo.byClientRegion).some((a) => pick(a).length > 0);
    if (!anyAnswer) continue;
    out.push({ name: geo.name, ttl: geo.ttl, content: `${type} "view({${views.join(', ')}})"` });
  }
  return out;
}
