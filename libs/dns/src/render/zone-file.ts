import { GeoRecord, geoProblems, nameProblem, RRset, rrsetProblems } from '../records';

/** The zone's SOA and NS: the nameservers that serve it and the SOA timers. */
export interface ZoneAuthority {
  readonly nameservers: readonly string[];
  /** The mailbox of the SOA, as a name (hostmaster.example.net). */
  readonly hostmaster: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  /** Negative-answer TTL (RFC 2308). */
  readonly minimum: number;
}

export class RenderRefused extends Error {
  constructor(readonly problems: string[]) {
    super(`refused to render: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`);
  }
}

const fqdn = (name: string) => `${name}.`;

/**
 * An RFC 1035 master file for one zone, for servers without a provider (BIND and the like, checked
 * with `named-checkzone`). Geo records are written as their fallback answer: a static server has
 * no view of the client. Every name and value is validated first (only canonical names, plain
 * addresses and safe TXT pass), so nothing can inject syntax; anything else refuses the zone.
 */
export function renderZoneFile(zone: string, authority: ZoneAuthority, rrsets: readonly RRset[], geo: readonly GeoRecord[], defaultTtl: number): string {
  const problems: string[] = [];
  const zp = nameProblem(zone);
  if (zp) problems.push(`zone ${zone}: ${zp}`);
  for (const ns of authority.nameservers) if (nameProblem(ns)) problems.push(`nameserver ${ns}: ${nameProblem(ns)}`);
  if (authority.nameservers.length === 0) problems.push('a zone needs at least one nameserver');
  if (nameProblem(authority.hostmaster)) problems.push(`hostmaster ${authority.hostmaster}: ${nameProblem(authority.hostmaster)}`);
  for (const n of [authority.serial, authority.refresh, authority.retry, authority.expire, authority.minimum, defaultTtl]) {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) problems.push(`SOA/TTL figure ${n} is not a 32-bit unsigned integer`);
  }
  const inZone = (name: string) => name === zone || name.endsWith(`.${zone}`);
  for (const r of rrsets) {
    problems.push(...rrsetProblems(r));
    if (r.type === 'LUA') problems.push(`${r.name}: LUA records are PowerDNS' own, not RFC 1035`);
    if (!inZone(r.name)) problems.push(`${r.name} is outside zone ${zone}`);
  }
  for (const g of geo) {
    problems.push(...geoProblems(g));
    if (!inZone(g.name)) problems.push(`${g.name} is outside zone ${zone}`);
  }
  if (problems.length > 0) throw new RenderRefused(problems);

  const lines = [
    `$ORIGIN ${fqdn(zone)}`,
    `$TTL ${defaultTtl}`,
    `${fqdn(zone)} IN SOA ${fqdn(authority.nameservers[0])} ${fqdn(authority.hostmaster)} ${authority.serial} ${authority.refresh} ${authority.retry} ${authority.expire} ${authority.minimum}`,
    ...authority.nameservers.map((ns) => `${fqdn(zone)} IN NS ${fqdn(ns)}`),
  ];
  const records: Array<[string, number, string, string]> = [];
  for (const r of rrsets) for (const v of r.values) records.push([r.name, r.ttl, r.type, r.type === 'CNAME' ? fqdn(v) : r.type === 'TXT' ? `"${v}"` : v]);
  for (const g of geo) {
    const a = g.fallback;
    if (a.kind === 'addresses') {
      for (const v of a.ipv4) records.push([g.name, g.ttl, 'A', v]);
      for (const v of a.ipv6) records.push([g.name, g.ttl, 'AAAA', v]);
    } else if (a.kind === 'cname') records.push([g.name, g.ttl, 'CNAME', fqdn(a.target)]);
  }
  records.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : x[3] < y[3] ? -1 : 1));
  for (const [name, ttl, type, value] of records) lines.push(`${fqdn(name)} ${ttl} IN ${type} ${value}`);
  return `${lines.join('\n')}\n`;
}
