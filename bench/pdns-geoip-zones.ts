/**
 * A domain's records (libs/dns domainRecords) as a zone of PowerDNS' GeoIP backend (its YAML
 * zones file), with the client's region from our subnet map compiled to a MaxMind DB
 * (bench/mmdb-writer.ts): what the PowerDNS provider would write if it used that backend.
 *
 * The region travels in the one field of a MaxMind record the backend reads as a free string
 * under a region-like name: `subdivisions[0].iso_code`, placeholder `%re` (lower-cased by the
 * backend; our region names are lower case already). The apex is a service
 * `%re._geo.<zone>`: the backend answers the records of `<region>._geo.<zone>` under the apex
 * name, and for a client in no map subnet `%re` is `unknown`, so `unknown._geo.<zone>` holds the
 * fallback. (A per-domain exception by subnet, such as a capacity split, would use the service's
 * per-netmask form — `{default: '%re._geo.<zone>', '<cidr>': '<label>._geo.<zone>'}` — whose most
 * specific matching netmask wins.)
 */
import { ClientSubnet, DomainRecords, GeoAnswer, ZoneAuthority } from '@shardcast/dns';
import { MmdbPrefix, MmdbValue, writeMmdb } from './mmdb-writer';

/** The label under which a zone's per-region answers live (`<region>._geo.<zone>`): no shard hostname uses it. */
export const GEO_LABEL = '_geo';
/** What the backend substitutes for a client no database maps. */
export const UNKNOWN_REGION = 'unknown';

type YamlRecord = Record<string, string | { content: string; ttl: number }>;

export interface GeoipDomain {
  domain: string;
  ttl: number;
  records: Record<string, YamlRecord[]>;
  services?: Record<string, string | Record<string, string>>;
}

function answerRecords(answer: GeoAnswer, ttl: number, zoneTtl: number): YamlRecord[] {
  const value = (content: string) => (ttl === zoneTtl ? content : { content, ttl });
  if (answer.kind === 'cname') return [{ cname: value(answer.target) }];
  if (answer.kind === 'none') return [];
  return [...answer.ipv4.map((a) => ({ a: value(a) })), ...answer.ipv6.map((a) => ({ aaaa: value(a) }))];
}

/** One zone of the backend's `domains:` list. */
export function renderGeoipDomain(records: DomainRecords, authority: ZoneAuthority): GeoipDomain {
  const zone = records.domain;
  const ttl = records.geo?.ttl ?? authority.minimum;
  const soa = `${authority.nameservers[0]} ${authority.hostmaster} ${authority.serial} ${authority.refresh} ${authority.retry} ${authority.expire} ${authority.minimum}`;
  const out: GeoipDomain = { domain: zone, ttl, records: { [zone]: [{ soa }, ...authority.nameservers.map((ns) => ({ ns }))] } };
  for (const rrset of records.rrsets) {
    const value = (content: string) => (rrset.ttl === ttl ? content : { content, ttl: rrset.ttl });
    out.records[rrset.name] = [...(out.records[rrset.name] ?? []), ...rrset.values.map((v) => ({ [rrset.type.toLowerCase()]: value(v) }))];
  }
  const geo = records.geo;
  if (geo === null) return out;
  const geoName = (label: string) => `${label}.${GEO_LABEL}.${zone}`;
  for (const [region, answer] of Object.entries(geo.byClientRegion)) out.records[geoName(region)] = answerRecords(answer, geo.ttl, ttl);
  out.records[geoName(UNKNOWN_REGION)] = answerRecords(geo.fallback, geo.ttl, ttl);
  out.services = { [geo.name]: `%re.${GEO_LABEL}.${zone}` };
  return out;
}

/**
 * The backend's zones file. JSON is YAML (1.2 is a superset of it), and it needs no quoting
 * rules of its own: the values come from libs/dns's validated records.
 */
export function renderGeoipZonesFile(domains: readonly GeoipDomain[]): string {
  return JSON.stringify({ domains }) + '\n';
}

/** The client subnet map as a MaxMind DB: each subnet → `{subdivisions: [{iso_code: <region>}]}`, one record per region. */
export function clientMapMmdb(subnets: readonly ClientSubnet[]): { bytes: Buffer; regions: string[] } {
  const regions = [...new Set(subnets.map((s) => s.region))].sort();
  const index = new Map(regions.map((r, i) => [r, i]));
  const prefixes: MmdbPrefix[] = subnets.map((s) => ({ cidr: s.cidr, value: index.get(s.region)! }));
  const values: MmdbValue[] = regions.map((r) => ({ subdivisions: [{ iso_code: r }] }));
  return { bytes: writeMmdb(prefixes, values, { databaseType: 'shardcast-client-regions', description: 'shardcast client subnet map: region in subdivisions[0].iso_code' }), regions };
}
