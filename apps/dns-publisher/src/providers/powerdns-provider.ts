import { ClientSubnet, DomainRecords, Plan, RecordSet, RecordType, renderPdnsLua, RRset, ZoneAuthority } from '@shardcast/dns';
import { DnsProvider } from './dns-provider';

export interface PowerDnsOptions {
  /** The API's base URL (`http://127.0.0.1:8081`). */
  apiUrl: string;
  /** Sent as `X-API-Key`; never logged. */
  apiKey: string;
  serverId?: string;
  timeoutMs?: number;
}

interface ApiRRset {
  name: string;
  type: string;
  ttl: number;
  records: Array<{ content: string; disabled: boolean }>;
}

const WRITTEN_TYPES = new Set<RecordType>(['A', 'AAAA', 'CNAME', 'TXT', 'LUA']);
const fqdn = (name: string) => `${name}.`;
const bare = (name: string) => (name.endsWith('.') ? name.slice(0, -1) : name);
/** The API's content forms: CNAME targets absolute, TXT quoted; stored back in shardcast's form. */
const toApi = (type: RecordType, v: string) => (type === 'CNAME' ? fqdn(v) : type === 'TXT' ? `"${v}"` : v);
const fromApi = (type: string, v: string) => (type === 'CNAME' ? bare(v) : type === 'TXT' ? v.replace(/^"|"$/g, '') : v);

export class PowerDnsApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * PowerDNS Authoritative through its HTTP API. A geo record becomes LUA records (`view()` over the
 * client subnet map: decisions/0031): the server answers by EDNS Client Subnet, else the resolver.
 * A plan is applied as one PATCH of the changed RRsets only (the API has no bulk diff): REPLACE
 * for creates and updates, DELETE for deletes; a missing zone is created first (Native, with the
 * authority's nameservers). The API key goes in a header and nowhere else.
 */
export class PowerDnsProvider implements DnsProvider {
  readonly name = 'powerdns';
  private readonly base: string;

  constructor(
    private readonly options: PowerDnsOptions,
    private readonly subnets: readonly ClientSubnet[],
  ) {
    this.base = `${options.apiUrl.replace(/\/$/, '')}/api/v1/servers/${encodeURIComponent(options.serverId ?? 'localhost')}`;
  }

  desired(records: DomainRecords): RecordSet {
    const lua: RRset[] = [];
    if (records.geo) {
      const byType = new Map<string, string[]>();
      for (const r of renderPdnsLua(records.geo, this.subnets)) byType.set(r.name, [...(byType.get(r.name) ?? []), r.content]);
      for (const [name, values] of byType) lua.push({ name, type: 'LUA', ttl: records.geo.ttl, values });
    }
    return { rrsets: [...records.rrsets, ...lua], geo: [] };
  }

  async read(zone: string): Promise<RecordSet | null> {
    const res = await this.call('GET', `/zones/${encodeURIComponent(fqdn(zone))}`);
    if (res.status === 404 || res.status === 422) return null;
    const body = (await res.json()) as { rrsets: ApiRRset[] };
    const rrsets: RRset[] = [];
    for (const r of body.rrsets) {
      if (!WRITTEN_TYPES.has(r.type as RecordType)) continue;
      const values = r.records.filter((x) => !x.disabled).map((x) => fromApi(r.type, x.content));
      if (values.length > 0) rrsets.push({ name: bare(r.name), type: r.type as RecordType, ttl: r.ttl, values: values.sort() });
    }
    return { rrsets, geo: [] };
  }

  async apply(zone: string, authority: ZoneAuthority, plan: Plan): Promise<void> {
    if (plan.changes.length === 0) return;
    await this.ensureZone(zone, authority);
    const rrsets = plan.changes.map((c) => {
      const r = (c.after ?? c.before)!;
      if (r.kind !== 'rrset') throw new Error(`${c.key}: PowerDNS takes RRsets (geo records are rendered as LUA by desired())`);
      const { name, type, ttl, values } = r.rrset;
      return c.action === 'delete'
        ? { name: fqdn(name), type, changetype: 'DELETE' }
        : { name: fqdn(name), type, ttl, changetype: 'REPLACE', records: values.map((v) => ({ content: toApi(type, v), disabled: false })) };
    });
    const res = await this.call('PATCH', `/zones/${encodeURIComponent(fqdn(zone))}`, { rrsets });
    if (!res.ok) throw new PowerDnsApiError(res.status, `PATCH ${zone}: ${res.status} ${await res.text()}`);
  }

  async deleteZone(zone: string): Promise<void> {
    const res = await this.call('DELETE', `/zones/${encodeURIComponent(fqdn(zone))}`);
    if (!res.ok && res.status !== 404 && res.status !== 422) throw new PowerDnsApiError(res.status, `DELETE ${zone}: ${res.status} ${await res.text()}`);
  }

  private async ensureZone(zone: string, authority: ZoneAuthority): Promise<void> {
    const got = await this.call('GET', `/zones/${encodeURIComponent(fqdn(zone))}?rrsets=false`);
    if (got.ok) return;
    const soa = `${fqdn(authority.nameservers[0])} ${fqdn(authority.hostmaster)} ${authority.serial} ${authority.refresh} ${authority.retry} ${authority.expire} ${authority.minimum}`;
    const res = await this.call('POST', '/zones', {
      name: fqdn(zone),
      kind: 'Native',
      nameservers: authority.nameservers.map(fqdn),
      rrsets: [{ name: fqdn(zone), type: 'SOA', ttl: authority.minimum, records: [{ content: soa, disabled: false }] }],
    });
    // 409: created meanwhile (another instance): fine.
    if (!res.ok && res.status !== 409) throw new PowerDnsApiError(res.status, `POST zone ${zone}: ${res.status} ${await res.text()}`);
  }

  private call(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.base}${path}`, {
      method,
      headers: { 'X-API-Key': this.options.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
  }
}
