import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { applyPlan, ClientSubnet, DomainRecords, GeoRecord, nameProblem, Plan, RecordSet, RecordType, renderKnotGeoip, renderZoneFile, RRset, ZoneAuthority } from '@shardcast/dns';
import { DnsProvider } from './dns-provider';

export interface KnotOptions {
  /** Knot's state dir: zones/ (zone files, subnet maps), zones.d/ (one config per zone, included by knot.conf). */
  dir: string;
  controlSocket: string;
  /** How long to wait for a reloaded zone to serve its new serial. */
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
 * and never writes again: the operator's own records survive every rewrite.
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

  async apply(zone: string, authority: ZoneAuthority, plan: Plan): Promise<void> {
    if (plan.changes.length === 0) return;
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
    await this.knotc(['reload']);
    await this.waitForSerial(zone, serial);
  }

  async deleteZone(zone: string): Promise<void> {
    const conf = this.path(zone, '.conf', 'zones.d');
    if (!existsSync(conf)) return;
    // The config first, applied, then the files: a reload must never find a file its config names missing.
    rmSync(conf);
    await this.knotc(['reload']);
    for (const suffix of ['.zone', '.geoip.yaml', '.shardcast.json', '.local.zone']) rmSync(this.path(zone, suffix), { force: true });
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

  private knotc(args: string[]) {
    return run('knotc', ['-s', this.options.controlSocket, ...args], { timeout: 30_000 });
  }

  /** The reload returns once the configuration is read; the zone loads in the background. */
  private async waitForSerial(zone: string, serial: number): Promise<void> {
    const deadline = Date.now() + (this.options.loadTimeoutMs ?? 15_000);
    for (;;) {
      const { stdout } = await this.knotc(['zone-status', zone]).catch(() => ({ stdout: '' }));
      const m = /serial: ([0-9]+)/.exec(stdout);
      if (m && Number(m[1]) >= serial) return;
      if (Date.now() > deadline) throw new Error(`knot: zone ${zone} did not load serial ${serial} within the timeout (status: ${stdout.trim() || 'none'})`);
      await sleep(50);
    }
  }
}
