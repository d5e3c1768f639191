/**
 * What the DNS benchmarks share (bench:dns, bench/dns-pdns-geoip.ts): the synthetic layouts, the
 * client subnet map and latency matrix they are answered over, the client subnets queries come
 * from, and the dnsperf and dig invocations.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { LatencyMatrix } from '@shardcast/allocation';
import { SHARD_HASH_ALGORITHM, ShardAssigned, ShardAssignedSchema } from '@shardcast/contracts';
import { ClientSubnet, parseClientSubnets, ZoneAuthority } from '@shardcast/dns';
import { parseRegionTable } from '@shardcast/geo';
// The same layouts every run (mulberry32).
import { seededRandom } from '@shardcast/telemetry';

export const BENCH_DNS_SUFFIX = 'shardcast-bench-dns.example';
const ROOT = resolve(__dirname, '..');
const run = promisify(execFile);

/** The repository's client subnet map and latency matrix, and the regions on either side. */
export function benchDnsInputs(): { subnets: ClientSubnet[]; latency: LatencyMatrix; clientRegions: string[]; shardRegions: string[] } {
  const subnets = parseClientSubnets(readFileSync(join(ROOT, 'data/client-subnets/ipv4.csv'), 'utf8'));
  const latencyData = JSON.parse(readFileSync(join(ROOT, 'data/latency/aws-ping-p50-1y.json'), 'utf8')) as { data: Record<string, Record<string, number>> };
  const latency = new LatencyMatrix(latencyData, parseRegionTable(readFileSync(join(ROOT, 'data/regions/awsData.js'), 'utf8')));
  return { subnets, latency, clientRegions: [...new Set(subnets.map((s) => s.region))], shardRegions: Object.keys(latencyData.data).sort() };
}

export const benchAuthority = (): ZoneAuthority => ({ nameservers: ['ns1.shardcast.example.net', 'ns2.shardcast.example.net'], hostmaster: 'hostmaster.shardcast.example.net', serial: Math.floor(Date.now() / 1000), refresh: 3600, retry: 600, expire: 604_800, minimum: 30 });

const DOC_NETS = ['192.0.2', '198.51.100', '203.0.113'];
export const benchDomainName = (i: number) => `d${String(i).padStart(5, '0')}.${BENCH_DNS_SUFFIX}`;

/** `n` layouts of 1–5 active shards over `shardRegions`, endpoints in the documentation ranges. */
export function benchLayouts(n: number, shardRegions: readonly string[]): ShardAssigned[] {
  const random = seededRandom(18);
  const out: ShardAssigned[] = [];
  for (let i = 0; i < n; i++) {
    const domain = benchDomainName(i);
    const regions = [...shardRegions].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 5));
    const shards = regions.map((region) => {
      const addresses = 1 + Math.floor(random() * 2);
      const ipv4 = Array.from({ length: addresses }, () => `${DOC_NETS[Math.floor(random() * 3)]}.${1 + Math.floor(random() * 254)}`);
      return { region, hostname: `${region}.${domain}`, state: 'active' as const, weight: 100 * (1 + Math.floor(random() * 10)), endpoints: { ipv4: [...new Set(ipv4)], ipv6: [] } };
    });
    out.push(
      ShardAssignedSchema.parse({
        domain,
        version: 1,
        shards,
        ring: { algorithm: SHARD_HASH_ALGORITHM, seed: i, tableBits: 16, loadBoundPermille: 50 },
        movement: { fromVersion: null, moved: 0, exact: true, flows: [] },
        pendingMovement: null,
        source: { planId: 'bench-dns', planVersion: 1 },
      }),
    );
  }
  return out;
}

/** The ECS option's payload (RFC 7871): family 1, source /24, scope 0, the address' first three bytes. */
export function ecsHex(cidr: string): string {
  const bytes = cidr.split('/')[0].split('.').slice(0, 3).map(Number);
  return ['0001', '18', '00', ...bytes.map((b) => b.toString(16).padStart(2, '0'))].join('');
}

/** `count` subnets round robin over the map's regions (largest first), each as its first /24. */
export function pickSubnets(map: readonly ClientSubnet[], count: number): ClientSubnet[] {
  const byRegion = new Map<string, ClientSubnet[]>();
  for (const s of map) byRegion.set(s.region, [...(byRegion.get(s.region) ?? []), s]);
  const queues = [...byRegion.values()].sort((a, b) => b.length - a.length);
  const out: ClientSubnet[] = [];
  for (let round = 0; out.length < count; round++) {
    let any = false;
    for (const q of queues) {
      if (round < q.length && out.length < count) {
        const base = q[round].cidr.split('/')[0].split('.').slice(0, 3).join('.');
        out.push({ cidr: `${base}.0/24`, region: q[round].region });
        any = true;
      }
    }
    if (!any) break;
  }
  return out;
}

/** Query files over the same `count` domains in one shuffled order: a shard's own A record (static), the apex (geo). */
export function queryLines(all: readonly ShardAssigned[], count: number): { static: string; geo: string } {
  const random = seededRandom(64);
  const picked = [...all].sort(() => random() - 0.5).slice(0, count);
  return { static: picked.map((l) => `${l.shards[0].hostname} A`).join('\n') + '\n', geo: picked.map((l) => `${l.domain} A`).join('\n') + '\n' };
}

export interface PerfRun {
  completed: number;
  seconds: number;
}

/** One dnsperf run of `seconds` against 127.0.0.1:`port`, every query with `ecs` (ecsHex) as EDNS Client Subnet. */
export async function dnsperf(port: string, file: string, ecs: string, seconds: number): Promise<PerfRun> {
  const { stdout } = await run('dnsperf', ['-s', '127.0.0.1', '-p', port, '-d', file, '-l', String(seconds), '-c', '4', '-q', '200', '-t', '2', '-E', `8:${ecs}`], { timeout: (seconds + 30) * 1000 });
  const figure = (label: string) => {
    const m = new RegExp(`${label}:\\s+([0-9.]+)`).exec(stdout);
    if (!m) throw new Error(`dnsperf printed no "${label}":\n${stdout}`);
    return Number(m[1]);
  };
  const completed = figure('Queries completed');
  const sent = figure('Queries sent');
  const noerror = /NOERROR ([0-9]+)/.exec(stdout);
  // A server that drops or refuses queries would look fast: its figure is refused instead.
  if (completed < 0.99 * sent || !noerror || Number(noerror[1]) < 0.99 * completed) throw new Error(`dnsperf on port ${port}: lost queries or errors:\n${stdout}`);
  return { completed, seconds: figure('Run time \\(s\\)') };
}

/** The A records `name` answers from `subnet` (ECS), sorted. */
export async function dig(port: string, name: string, subnet: string): Promise<string[]> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', port, name, 'A', '+short', '+tries=1', '+time=2', `+subnet=${subnet}`]);
  return stdout.split('\n').filter((l) => l.trim() !== '').sort();
}
