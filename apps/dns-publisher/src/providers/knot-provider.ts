import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { applyPlan, ClientSubnet, DomainRecords, GeoRecord, nameProblem, Plan, RecordSet, RecordType, renderKnotGeoip, renderZoneFile, RRset, ZoneAuthority } from '@shardcast/dns';
import { DnsProvider, ZonePlan } from './dns-provider';

export interface KnotOptions {
  /** Knot's state dir: zones/ (zone files, subnet maps), zones.d/ (one config per zone, included by knot.conf). */
  dir: string;
  controlSocket: string;
  /** How long to wait for a reloaded zone to serve its new serial (a batch: for all its zones, from the reload). */
  loadTimeoutMs?: number;
}

/** What the provider keeps beside a zone: its geo records (Knot cannot show them back) and the serial last written. */
interface Sidecar {
  serial: number;
  geo: GeoRecord[];
}

const WRITTEN_TYPES = new Set<RecordType>(['A', 'AAAA', 'CNAME', 'TXT']);
const run = promisify(execFile);

/**
 * Knot DNS through files and `knotc` (decision 0031: zone files are the source of truth). Per
 * zone: `zones/<zone>.zone` (SOA, NS, the shards' records and the geo records' fallback, written
 * by `renderZoneFile`), `zones/<zone>.geoip.yaml` (the geo records over the client subnet map, for
 * mod-geoip in `mode: subnet`), `zones.d/<zone>.conf` (the zone and its module), then `knotc
 * reload`, and wait until the zone serves the new serial. Records dns-publisher does not own live
 * in `zones/<zone>.local.zone`, which the zone file includes and the provider creates empty once
 * and never writes again: the operator's own records survive every rewrite. A batch (applyMany,
 * deleteZones) writes every zone's files first, then reloads once and waits for all serials: a
 * reload re-reads the whole configuration, so one per zone would make a full publish quadratic.
 */
export class KnotProvider implements DnsProvider {
  readonly name = 'knot';

  constructor(
    private readonly options: KnotOptions,
    private readonly subnets: readonly ClientSubnet[],
  ) {}

  private path(zone: string, suffix: string, under = 'zones'): string {
    // Zone names are validated before they reach a path: nothing can climb out of the dir.
    const problem = nameProblem(zone);
    if (problem) throw new Error(`zone ${JSON.stringify(zone)}: ${problem}`);
    return join(this.options.dir, under, `${zone}${suffix}`);
  }

  desired(records: DomainRecords): RecordSet {
    const geo = records.geo ? [records.geo] : [];
    // The fallback is a plain record at the apex: clients of no listed subnet get it.
    const fallback: RRset[] = [];
    for (const g of geo) {
      if (g.fallback.kind !== 'addresses') continue;
      if (g.fallback.ipv4.length > 0) fallback.push({ name: g.name, type: 'A', ttl: g.ttl, values: [...g.fallback.ipv4] });
      if (g.fallback.ipv6.length > 0) fallback.push({ name: g.name, type: 'AAAA', ttl: g.ttl, values: [...g.fallback.ipv6] });
    }
    return { rrsets: [...records.rrsets, ...fallback], geo };
  }

  async read(zone: string): Promise<RecordSet | null> {
    if (!existsSync(this.path(zone, '.conf', 'zones.d'))) return null;
    const { stdout } = await this.knotc(['zone-read', zone]);
    const byKey = new Map<string, RRset>();
    for (const line of stdout.split('\n')) {
      // [zone.] owner. ttl TYPE rdata
      const m = /^\[[^\]]+\] (\S+)\. ([0-9]+) ([A-Z]+) (.+)$/.exec(line.trim());
      if (!m || !WRITTEN_TYPES.has(m[3] as RecordType)) continue;
      const [, owner, ttl, type, rdata] = m;
      const value = type === 'CNAME' ? rdata.replace(/\.$/, '') : type === 'TXT' ? rdata.replace(/^"|"$/g, '') : rdata;
      const key = `${owner} ${type}`;
      const held = byKey.get(key);
      byKey.set(key, { name: owner, type: type as RecordType, ttl: Number(ttl), values: [...(held?.values ?? []), value].sort() });
    }
    const sidecar = this.sidecar(zone);
    return { rrsets: [...byKey.values()], geo: sidecar?.geo ?? [] };
  }

  async readMany(zones: readonly string[]): Promise<Array<RecordSet | null>> {
    const out: Array<RecordSet | null> = [];
    // A zone without its conf is not read at all (no knotc call): a first publish costs nothing here.
    for (const zone of zones) out.push(await this.read(zone));
    return out;
  }

  async apply(zone: string, authority: ZoneAuthority, plan: Plan): Promise<void> {
    await this.applyMany([{ zone, authority, plan }]);
  }

  async applyMany(batch: readonly ZonePlan[]): Promise<void> {
    const serials = new Map<string, number>();
    for (const { zone, authority, plan } of batch) {
      const serial = await this.writeZone(zone, authority, plan);
      if (serial !== null) serials.set(zone, serial);
    }
    if (serials.size === 0) return;
    await this.knotc(['reload'], this.batchTimeoutMs());
    await this.waitForSerials(serials);
  }

  /** Writes a zone's files for a plan; returns the serial written (null: nothing to change). */
  private async writeZone(zone: string, authority: ZoneAuthority, plan: Plan): Promise<number | null> {
    if (plan.changes.length === 0) return null;
    const current = (await this.read(zone)) ?? { rrsets: [], geo: [] };
    const next = applyPlan(current, plan);
    const owned = new Set(plan.owned);
    const mine: RecordSet = {
      rrsets: next.rrsets.filter((r) => owned.has(`${r.name} ${r.type}`)),
      geo: next.geo.filter((g) => owned.has(`${g.name} GEO`)),
    };
    const serial = Math.max((this.sidecar(zone)?.serial ?? 0) + 1, authority.serial);
    const local = this.path(zone, '.local.zone');
    if (!existsSync(local)) writeFileSync(local, '; records of this zone that dns-publisher does not own: it never writes this file\n');
    // Geo records' fallback is in mine.rrsets already (desired()); the zone file renderer must not add it twice.
    const zoneText = `${renderZoneFile(zone, { ...authority, serial }, mine.rrsets, [], authority.minimum)}$INCLUDE ${local}\n`;
    const geoText = renderKnotGeoip(mine.geo, this.subnets);
    const geoPath = this.path(zone, '.geoip.yaml');
    this.write(this.path(zone, '.zone'), zoneText);
    this.write(geoPath, geoText);
    this.write(this.path(zone, '.shardcast.json'), JSON.stringify({ serial, geo: [...mine.geo] } satisfies Sidecar));
    // The config last: once the include sees it, the files it names are complete.
    const conf =
      geoText.length > 0
        ? ['mod-geoip:', `  - id: ${zone}`, `    config-file: "${geoPath}"`, '    mode: subnet', `    ttl: ${mine.geo[0]?.ttl ?? authority.minimum}`, 'zone:', `  - domain: ${zone}`, `    module: mod-geoip/${zone}`, '']
        : ['zone:', `  - domain: ${zone}`, ''];
    this.write(this.path(zone, '.conf', 'zones.d'), conf.join('\n'));
    return serial;
  }

  async deleteZone(zone: string): Promise<void> {
    await this.deleteZones([zone]);
  }

  async deleteZones(zones: readonly string[]): Promise<void> {
    const present = zones.filter((zone) => existsSync(this.path(zone, '.conf', 'zones.d')));
    if (present.length === 0) return;
    // The configs first, applied, then the files: a reload must never find a file its config names missing.
    for (const zone of present) rmSync(this.path(zone, '.conf', 'zones.d'));
    await this.knotc(['reload'], this.batchTimeoutMs());
    for (const zone of present) for (const suffix of ['.zone', '.geoip.yaml', '.shardcast.json', '.local.zone']) rmSync(this.path(zone, suffix), { force: true });
  }

  private sidecar(zone: string): Sidecar | null {
    const path = this.path(zone, '.shardcast.json');
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Sidecar) : null;
  }

  private write(path: string, content: string): void {
    // A temporary name the zones.d/*.conf include never matches, then an atomic rename.
    writeFileSync(`${path}.tmp`, content);
    renameSync(`${path}.tmp`, path);
  }

  private batchTimeoutMs(): number {
    return Math.max(30_000, this.options.loadTimeoutMs ?? 15_000);
  }

  private knotc(args: string[], timeoutMs = 30_000) {
    // zone-status of every zone prints a line per zone: 10,000 zones pass Node's 1 MiB default buffer.
    return run('knotc', ['-s', this.options.controlSocket, '-t', String(Math.ceil(timeoutMs / 1000)), ...args], { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  }

  /**
   * The reload returns once the configuration is read; the zones load in the background. One zone
   * is asked by name; a batch asks for every zone's status at once, so waiting costs a call per poll, not per zone.
   */
  private async waitForSerials(serials: ReadonlyMap<string, number>): Promise<void> {
    const deadline = Date.now() + (serials.size === 1 ? (this.options.loadTimeoutMs ?? 15_000) : this.batchTimeoutMs());
    const waiting = new Map(serials);
    for (;;) {
      const only = waiting.size === 1 ? [...waiting.keys()][0] : null;
      const { stdout } = await this.knotc(only === null ? ['zone-status'] : ['zone-status', only]).catch(() => ({ stdout: '' }));
      for (const line of stdout.split('\n')) {
        // [zone.] role: master | serial: N | ...
        const m = /^\[([^\]]+)\.\].*\bserial: ([0-9]+)/.exec(line.trim());
        if (m && waiting.has(m[1]) && Number(m[2]) >= waiting.get(m[1])!) waiting.delete(m[1]);
      }
      if (waiting.size === 0) return;
      if (Date.now() > deadline) {
        const [zone, serial] = [...waiting][0];
        const status = stdout.split('\n').find((l) => l.includes(`[${zone}.]`))?.trim() ?? 'none';
        throw new Error(`knot: zone ${zone} did not load serial ${serial} within the timeout (status: ${status}; ${waiting.size - 1} more zones waiting)`);
      }
      await sleep(50);
    }
  }
}
