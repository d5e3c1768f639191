import { setTimeout as sleep } from 'node:timers/promises';
import { ClientSubnet, DomainRecords, LuaRecord, Plan, RecordSet, RecordType, renderPdnsClientMap, renderPdnsGeoLua, renderPdnsLua, RRset, ZoneAuthority } from '@shardcast/dns';
import { DnsProvider, ZonePlan } from './dns-provider';

export interface PowerDnsOptions {
  /** The API's base URL (`http://127.0.0.1:8081`). */
  apiUrl: string;
  /** Sent as `X-API-Key`; never logged. */
  apiKey: string;
  serverId?: string;
  timeoutMs?: number;
  /** API calls in flight at once in a batch (applyMany, deleteZones); default 12. */
  concurrency?: number;
  /**
   * How a geo record is written: `client-map` (default) a LUA record per answered type over the
   * zone's client map record (renderPdnsGeoLua, renderPdnsClientMap); `view` a view() over the
   * whole subnet map in each record (renderPdnsLua), slower to answer (bench:dns, bench/README.md).
   */
  geo?: 'client-map' | 'view';
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

/** Runs `work` over `items` with at most `limit` in flight; the first failure rejects once all started work settled. */
async function forEachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/**
 * Retries `work` while the server answers 500: its SQLite store takes one writer at a time and
 * fails a concurrent write with "database is locked" (in its log; the API's 500 body says only
 * "Internal Server Error"). Bounded; every call here is idempotent.
 */
async function retryLocked(work: () => Promise<void>, attempts = 12): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof PowerDnsApiError && err.status === 500) || attempt >= attempts) throw err;
      await sleep(Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random()));
    }
  }
}

/**
 * PowerDNS Authoritative through its HTTP API. A geo record becomes LUA records over the client
 * subnet map (decisions/0031; by default one answer per map region and a lookup shared through the
 * zone's client map record, see `geo`): the server answers by EDNS Client Subnet, else the resolver.
 * A plan is applied as one PATCH of the changed RRsets only (the API has no bulk diff): REPLACE
 * for creates and updates, DELETE for deletes; a missing zone (read as missing, or the PATCH
 * answers 404) is created by one POST holding its RRsets (Native, with the authority's nameservers): a first
 * publish costs one call per zone, not three. A batch runs its zones' calls concurrently, bounded
 * (`concurrency`): the API serves calls in parallel and a full publish of 10,000 zones one call
 * at a time is latency-bound; a write refused because SQLite holds its lock is retried. The API key goes in a header and nowhere else.
 */
export class PowerDnsProvider implements DnsProvider {
  readonly name = 'powerdns';
  private readonly base: string;
  /** Zones the last read found missing: apply() creates them without a PATCH that would fail first. */
  private readonly missing = new Set<string>();

  constructor(
    private readonly options: PowerDnsOptions,
    private readonly subnets: readonly ClientSubnet[],
  ) {
    this.base = `${options.apiUrl.replace(/\/$/, '')}/api/v1/servers/${encodeURIComponent(options.serverId ?? 'localhost')}`;
  }

  desired(records: DomainRecords): RecordSet {
    const lua: RRset[] = [];
    if (records.geo) {
      const rendered: LuaRecord[] =
        this.options.geo === 'view' ? renderPdnsLua(records.geo, this.subnets) : [...renderPdnsGeoLua(records.geo, this.subnets), renderPdnsClientMap(records.domain, this.subnets)];
      const byName = new Map<string, LuaRecord[]>();
      for (const r of rendered) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
      for (const [name, rs] of byName) lua.push({ name, type: 'LUA', ttl: rs[0].ttl, values: rs.map((r) => r.content).sort() });
    }
    return { rrsets: [...records.rrsets, ...lua], geo: [] };
  }

  async read(zone: string): Promise<RecordSet | null> {
    const res = await this.call('GET', `/zones/${encodeURIComponent(fqdn(zone))}`);
    if (res.status === 404 || res.status === 422) {
      this.missing.add(zone);
      return null;
    }
    if (!res.ok) throw new PowerDnsApiError(res.status, `GET ${zone}: ${res.status} ${await res.text()}`);
    this.missing.delete(zone);
    const body = (await res.json()) as { rrsets: ApiRRset[] };
    const rrsets: RRset[] = [];
    for (const r of body.rrsets) {
      if (!WRITTEN_TYPES.has(r.type as RecordType)) continue;
      const values = r.records.filter((x) => !x.disabled).map((x) => fromApi(r.type, x.content));
      if (values.length > 0) rrsets.push({ name: bare(r.name), type: r.type as RecordType, ttl: r.ttl, values: values.sort() });
    }
    return { rrsets, geo: [] };
  }

  /** One listing of the server's zones, then a read of each zone it holds: a first publish asks nothing per missing zone. */
  async readMany(zones: readonly string[]): Promise<Array<RecordSet | null>> {
    const res = await this.call('GET', '/zones');
    if (!res.ok) throw new PowerDnsApiError(res.status, `GET zones: ${res.status} ${await res.text()}`);
    const held = new Set(((await res.json()) as Array<{ name: string }>).map((z) => bare(z.name)));
    const out: Array<RecordSet | null> = zones.map(() => null);
    const present = zones.flatMap((zone, i) => (held.has(zone) ? [i] : []));
    for (const zone of zones) if (!held.has(zone)) this.missing.add(zone);
    await forEachBounded(present, this.options.concurrency ?? 12, async (i) => void (out[i] = await this.read(zones[i])));
    return out;
  }

  async apply(zone: string, authority: ZoneAuthority, plan: Plan): Promise<void> {
    if (plan.changes.length === 0) return;
    const rrsets = plan.changes.map((c) => {
      const r = (c.after ?? c.before)!;
      if (r.kind !== 'rrset') throw new Error(`${c.key}: PowerDNS takes RRsets (geo records are rendered as LUA by desired())`);
      const { name, type, ttl, values } = r.rrset;
      return c.action === 'delete'
        ? { name: fqdn(name), type, changetype: 'DELETE' as const }
        : { name: fqdn(name), type, ttl, changetype: 'REPLACE' as const, records: values.map((v) => ({ content: toApi(type, v), disabled: false })) };
    });
    const path = `/zones/${encodeURIComponent(fqdn(zone))}`;
    const patch = async (): Promise<Response> => {
      const res = await this.call('PATCH', path, { rrsets });
      if (!res.ok && res.status !== 404 && res.status !== 422) throw new PowerDnsApiError(res.status, `PATCH ${zone}: ${res.status} ${await res.text()}`);
      return res;
    };
    // A zone last read as missing is created at once; otherwise PATCH, and create on "not found".
    if (!this.missing.has(zone)) {
      const patched = await patch();
      if (patched.ok) return;
      if (patched.status === 422) throw new PowerDnsApiError(422, `PATCH ${zone}: 422 ${await patched.text()}`);
    }
    // The zone with its records in one call (a delete on a missing zone has nothing to delete).
    const soa = `${fqdn(authority.nameservers[0])} ${fqdn(authority.hostmaster)} ${authority.serial} ${authority.refresh} ${authority.retry} ${authority.expire} ${authority.minimum}`;
    const created = await this.call('POST', '/zones', {
      name: fqdn(zone),
      kind: 'Native',
      nameservers: authority.nameservers.map(fqdn),
      rrsets: [
        { name: fqdn(zone), type: 'SOA', ttl: authority.minimum, records: [{ content: soa, disabled: false }] },
        ...rrsets.flatMap((r) => (r.changetype === 'REPLACE' ? [{ name: r.name, type: r.type, ttl: r.ttl, records: r.records }] : [])),
      ],
    });
    this.missing.delete(zone);
    if (created.ok) return;
    // 409: the zone exists after all (created meanwhile, e.g. by another instance): PATCH it.
    if (created.status !== 409) throw new PowerDnsApiError(created.status, `POST zone ${zone}: ${created.status} ${await created.text()}`);
    const again = await patch();
    if (!again.ok) throw new PowerDnsApiError(again.status, `PATCH ${zone}: ${again.status} ${await again.text()}`);
  }

  async applyMany(batch: readonly ZonePlan[]): Promise<void> {
    await forEachBounded(batch, this.options.concurrency ?? 12, (z) => retryLocked(() => this.apply(z.zone, z.authority, z.plan)));
  }

  async deleteZone(zone: string): Promise<void> {
    const res = await this.call('DELETE', `/zones/${encodeURIComponent(fqdn(zone))}`);
    if (res.ok) this.missing.add(zone);
    if (!res.ok && res.status !== 404 && res.status !== 422) throw new PowerDnsApiError(res.status, `DELETE ${zone}: ${res.status} ${await res.text()}`);
  }

  async deleteZones(zones: readonly string[]): Promise<void> {
    await forEachBounded(zones, this.options.concurrency ?? 12, (zone) => retryLocked(() => this.deleteZone(zone)));
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
