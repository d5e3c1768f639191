import { createHash } from 'node:crypto';
import { ClientSubnet, cidrProblem, ipv4ToNumber, subnetsByRegion } from '../client-subnets';
import { GeoRecord, geoProblems, nameProblem } from '../records';
import { MAP_BODY, MAP_HEAD } from './pdns-lua-code';
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
    // A capacity split's subnets first: view() answers the first entry that matches.
    const overrides = new Map<string, string[]>();
    for (const [cidr, answer] of Object.entries(geo.bySubnet ?? {})) {
      const key = quote(pick(answer));
      overrides.set(key, [...(overrides.get(key) ?? []), cidr]);
    }
    for (const [answers, cidrs] of overrides) views.push(`{${quote(cidrs.sort())}, ${answers}}`);
    for (const [region, cidrs] of byRegion) {
      const answer = geo.byClientRegion[region];
      if (!answer) continue;
      // A region answered nothing of this type still gets its entry: it must not fall through to the fallback.
      views.push(`{${quote(cidrs)}, ${quote(pick(answer))}}`);
    }
    const fallback = pick(geo.fallback);
    views.push(`{${quote(['0.0.0.0/0', '::/0'])}, ${quote(fallback)}}`);
    const anyAnswer = fallback.length > 0 || [...Object.values(geo.byClientRegion), ...Object.values(geo.bySubnet ?? {})].some((a) => pick(a).length > 0);
    if (!anyAnswer) continue;
    out.push({ name: geo.name, ttl: geo.ttl, content: `${type} "view({${views.join(', ')}})"` });
  }
  return out;
}

/** The name, inside each zone, of the LUA record holding the client subnet map's code (see renderPdnsClientMap). */
export const PDNS_CLIENT_MAP_LABEL = 'shardcast-client-map';

interface CompiledMap {
  global: string;
  regions: string[];
  /** Each subnet's index in the map's Lua tables (1-based). */
  subnetIndex: Map<string, number>;
  /** The map record's content (null: the map was refused, `problems` says why). */
  content: string | null;
  problems: string[];
}

// A map is the same for every zone and every publish: compiled once per map (array identity), not per record.
const compiled = new WeakMap<readonly ClientSubnet[], CompiledMap>();

function compile(map: readonly ClientSubnet[]): CompiledMap {
  const hit = compiled.get(map);
  if (hit) return hit;
  const ordered = [...map].sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
  const text = ordered.map((s) => `${s.cidr},${s.region}`).join('\n');
  // The code is in the digest too: a server whose Lua state holds an older definition never meets a newer caller.
  const global = `SC_${createHash('sha256').update(`${text}\n${MAP_BODY}`).digest('hex').slice(0, 8)}`;
  const regions = [...subnetsByRegion(map).keys()];
  const subnetIndex = new Map(ordered.map((s, i) => [s.cidr, i + 1]));
  const problems: string[] = [];
  for (const s of map) {
    const p = cidrProblem(s.cidr);
    if (p) problems.push(`client subnet ${s.cidr}: ${p}`);
  }
  let content: string | null = null;
  if (problems.length === 0) {
    const index = new Map(regions.map((r, i) => [r, i + 1]));
    const v4 = new Map<number, string[]>();
    const v6: string[] = [];
    for (const s of ordered) {
      const [address, bits] = s.cidr.split('/');
      if (address.includes(':')) v6.push(`{'${s.cidr}', ${subnetIndex.get(s.cidr)}}`);
      else {
        const length = Number(bits);
        const network = Math.floor(ipv4ToNumber(address) / 2 ** (32 - length));
        v4.set(length, [...(v4.get(length) ?? []), `[${network}] = ${subnetIndex.get(s.cidr)}`]);
      }
    }
    const lengths = [...v4.keys()].sort((a, b) => b - a);
    const reg = ordered.map((s) => index.get(s.region)).join(', ');
    const tables = `local v4 = {${lengths.map((l) => `[${l}] = {${v4.get(l)!.join(', ')}}`).join(', ')}} local lengths = {${lengths.join(', ')}} local v6 = {${v6.join(', ')}} local reg = {${reg}}`;
    content = `TXT "${tables} ${global}${MAP_HEAD}${global}${MAP_BODY}"`;
  }
  const out = { global, regions, subnetIndex, content, problems };
  compiled.set(map, out);
  return out;
}

/** The function a zone's geo records call: a Lua global named after the map's digest, so a new map never meets an old definition. */
export function pdnsClientMapGlobal(map: readonly ClientSubnet[]): string {
  return compile(map).global;
}

/**
 * The LUA record (TXT, never asked for; code without the leading ';', as include() runs it raw) whose code defines the zone's client map lookup; geo
 * records `include()` it once per PowerDNS Lua state (with `enable-lua-records=shared` the state
 * lives on, so the map is built once per server thread, not per query). `view()` over the full
 * map rebuilt ~400 netmasks from a ~7 kB record on every query (bench:dns: geo at 0.07× a static
 * answer); this answers a query with a few table lookups and a record of one answer per region.
 */
export function renderPdnsClientMap(zone: string, map: readonly ClientSubnet[]): LuaRecord {
  const { content, problems } = compile(map);
  if (content === null) throw new RenderRefused(problems);
  const zp = nameProblem(zone);
  if (zp) throw new RenderRefused([`zone ${zone}: ${zp}`]);
  return { name: `${PDNS_CLIENT_MAP_LABEL}.${zone}`, ttl: 3600, content };
}

/**
 * PowerDNS LUA records for a geo record over the client map record (renderPdnsClientMap): one per
 * answered type, the answer of every map region in the map's region order (0: the region has no
 * decision, it gets the fallback; {}: it is answered nothing of this type), then the fallback, then
 * for a capacity split the answers of the split subnets by their index in the map.
 * Unlike view(), which answers one address of the view at random, every address is answered, as Knot does.
 */
export function renderPdnsGeoLua(geo: GeoRecord, map: readonly ClientSubnet[]): LuaRecord[] {
  const problems = geoProblems(geo);
  if (problems.length > 0) throw new RenderRefused(problems);
  const { global, regions, subnetIndex, problems: mapProblems } = compile(map);
  const unknown = Object.keys(geo.bySubnet ?? {}).filter((cidr) => !subnetIndex.has(cidr));
  if (mapProblems.length > 0 || unknown.length > 0) throw new RenderRefused([...mapProblems, ...unknown.map((cidr) => `${geo.name} geo: subnet ${cidr} is not in the client map`)]);
  const out: LuaRecord[] = [];
  for (const type of ['A', 'AAAA'] as const) {
    const pick = (a: GeoRecord['fallback']) => (a.kind === 'addresses' ? (type === 'A' ? a.ipv4 : a.ipv6) : []);
    const answers = regions.map((region) => {
      const answer = geo.byClientRegion[region];
      return answer ? quote(pick(answer)) : '0';
    });
    const fallback = pick(geo.fallback);
    const split = Object.entries(geo.bySubnet ?? {})
      .map(([cidr, answer]) => ({ index: subnetIndex.get(cidr)!, answer }))
      .sort((a, b) => a.index - b.index);
    const anyAnswer = fallback.length > 0 || [...Object.values(geo.byClientRegion), ...split.map((s) => s.answer)].some((a) => pick(a).length > 0);
    if (!anyAnswer) continue;
    const subnets = split.length > 0 ? `, {${split.map((s) => `[${s.index}] = ${quote(pick(s.answer))}`).join(', ')}}` : '';
    out.push({
      name: geo.name,
      ttl: geo.ttl,
      content: `${type} ";if not ${global} then include('${PDNS_CLIENT_MAP_LABEL}') end return ${global}(bestwho, {${answers.join(', ')}}, ${quote(fallback)}${subnets})"`,
    });
  }
  return out;
}
