import { isIP } from 'node:net';
import { normalizeDomain } from '@shardcast/contracts';
import { cidrProblem } from './client-subnets';
import { PDNS_LUA_CONTENT } from './render/pdns-lua-code';

/** Record types dns-publisher writes (LUA: PowerDNS' own, the rendering of a geo record there). */
export type RecordType = 'A' | 'AAAA' | 'CNAME' | 'TXT' | 'LUA';

/** One RRset: a name (lowercase A-labels, no trailing dot), a type, a TTL and its values in canonical order. */
export interface RRset {
  readonly name: string;
  readonly type: RecordType;
  readonly ttl: number;
  readonly values: readonly string[];
}

/** What a client region is answered: addresses, a CNAME, or nothing (a fail-closed domain). */
export type GeoAnswer = { kind: 'addresses'; ipv4: readonly string[]; ipv6: readonly string[] } | { kind: 'cname'; target: string } | { kind: 'none' };

/**
 * The geo record of a name: an answer per client region, and one for clients in no known region.
 * Providers render it with their own mechanism (Knot's geoip subnet map, PowerDNS LUA `view`); a
 * static zone file gets `fallback` only.
 */
export interface GeoRecord {
  readonly name: string;
  readonly ttl: number;
  readonly byClientRegion: Readonly<Record<string, GeoAnswer>>;
  /** Subnets of the client map answered otherwise than their region (a capacity split): these win over `byClientRegion`. */
  readonly bySubnet?: Readonly<Record<string, GeoAnswer>>;
  readonly fallback: GeoAnswer;
}

export const MAX_TTL = 86_400;

/** Why a name or value is refused, or null: only what cannot inject syntax into a zone file, YAML or LUA passes. */
export function nameProblem(name: string): string | null {
  const checked = normalizeDomain(name);
  if (!checked.ok) return checked.reason;
  if (checked.domain !== name) return `${JSON.stringify(name)} is not in canonical form (${checked.domain})`;
  return null;
}

export function valueProblem(type: RecordType, value: string): string | null {
  switch (type) {
    case 'A':
      return isIP(value) === 4 && /^[0-9.]+$/.test(value) ? null : `${JSON.stringify(value)} is not an IPv4 address`;
    case 'AAAA':
      return isIP(value) === 6 && /^[0-9a-f:]+$/.test(value) ? null : `${JSON.stringify(value)} is not an IPv6 address in lowercase hex`;
    case 'CNAME':
      return nameProblem(value);
    case 'LUA':
      // Only what the PowerDNS renderers write: view() over quoted CIDRs and addresses, the client map, a geo record over it.
      return PDNS_LUA_CONTENT.some((form) => form.test(value)) && value.length <= 65_535 ? null : 'not a LUA record shardcast renders';
    case 'TXT':
      // Printable ASCII without quotes or backslashes: nothing any renderer must escape.
      return /^[\x20-\x21\x23-\x5b\x5d-\x7e]{0,255}$/.test(value) ? null : `TXT value ${JSON.stringify(value.slice(0, 40))} has characters outside printable ASCII or quotes/backslashes`;
  }
}

/** Every problem of an RRset (name, TTL, values); renderers refuse one with any. */
export function rrsetProblems(r: RRset): string[] {
  const problems: string[] = [];
  const name = nameProblem(r.name);
  if (name) problems.push(`${r.name}: ${name}`);
  if (!Number.isInteger(r.ttl) || r.ttl < 1 || r.ttl > MAX_TTL) problems.push(`${r.name} ${r.type}: TTL must be an integer in 1..${MAX_TTL}`);
  if (r.values.length === 0) problems.push(`${r.name} ${r.type}: no values`);
  if (r.type === 'CNAME' && r.values.length !== 1) problems.push(`${r.name} CNAME: exactly one target`);
  for (const v of r.values) {
    const p = valueProblem(r.type, v);
    if (p) problems.push(`${r.name} ${r.type}: ${p}`);
  }
  return problems;
}

export function geoProblems(g: GeoRecord): string[] {
  const problems: string[] = [];
  const name = nameProblem(g.name);
  if (name) problems.push(`${g.name}: ${name}`);
  if (!Number.isInteger(g.ttl) || g.ttl < 1 || g.ttl > MAX_TTL) problems.push(`${g.name} geo: TTL must be an integer in 1..${MAX_TTL}`);
  const check = (where: string, a: GeoAnswer) => {
    if (a.kind === 'addresses') {
      if (a.ipv4.length + a.ipv6.length === 0) problems.push(`${g.name} geo ${where}: no addresses`);
      for (const v of a.ipv4) if (valueProblem('A', v)) problems.push(`${g.name} geo ${where}: ${valueProblem('A', v)}`);
      for (const v of a.ipv6) if (valueProblem('AAAA', v)) problems.push(`${g.name} geo ${where}: ${valueProblem('AAAA', v)}`);
    } else if (a.kind === 'cname') {
      const p = nameProblem(a.target);
      if (p) problems.push(`${g.name} geo ${where}: ${p}`);
    }
  };
  for (const [region, a] of Object.entries(g.byClientRegion)) {
    if (!/^[a-z0-9-]{1,32}$/.test(region)) problems.push(`${g.name} geo: client region ${JSON.stringify(region.slice(0, 40))} is not a region id`);
    check(region, a);
  }
  for (const [cidr, a] of Object.entries(g.bySubnet ?? {})) {
    const p = cidrProblem(cidr);
    if (p) problems.push(`${g.name} geo: subnet ${JSON.stringify(cidr.slice(0, 60))}: ${p}`);
    else check(cidr, a);
  }
  check('fallback', g.fallback);
  return problems;
}

/** An RRset with its values in canonical order (sorted, deduplicated): two equal sets compare equal. */
export function canonicalRRset(r: RRset): RRset {
  return { name: r.name, type: r.type, ttl: r.ttl, values: [...new Set(r.values)].sort() };
}

/** The key a record is diffed and owned by. */
export function recordKey(name: string, type: RecordType | 'GEO'): string {
  return `${name} ${type}`;
}
