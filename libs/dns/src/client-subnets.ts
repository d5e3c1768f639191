import { isIP } from 'node:net';

/** A client subnet and the region its clients are answered as. */
export interface ClientSubnet {
  readonly cidr: string;
  readonly region: string;
}

/** Why a CIDR is refused, or null: canonical network address, prefix within the family's bits. */
export function cidrProblem(cidr: string): string | null {
  const m = /^([0-9a-f.:]+)\/([0-9]{1,3})$/.exec(cidr);
  if (!m) return `${JSON.stringify(cidr.slice(0, 60))} is not address/prefix`;
  const family = isIP(m[1]);
  if (family === 0) return `${JSON.stringify(m[1])} is not an IP address`;
  const bits = Number(m[2]);
  if (bits > (family === 4 ? 32 : 128)) return `prefix /${bits} is longer than the address`;
  if (family === 4) {
    const n = ipv4ToNumber(m[1]);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if (((n & mask) >>> 0) !== n) return `${cidr} has host bits set`;
  }
  return null;
}

export function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** The region of an IPv4 client: the longest matching prefix (null: none). Linear: for answer explanations, not the data path. */
export function clientRegionOf(map: readonly ClientSubnet[], ip: string): string | null {
  return clientSubnetOf(map, ip)?.region ?? null;
}

/** The map entry (subnet and region) of an IPv4 client: the longest matching prefix (null: none). */
export function clientSubnetOf(map: readonly ClientSubnet[], ip: string): ClientSubnet | null {
  if (isIP(ip) !== 4) return null;
  const n = ipv4ToNumber(ip);
  let best: { bits: number; entry: ClientSubnet } | null = null;
  for (const { cidr, region } of map) {
    const [net, b] = cidr.split('/');
    if (isIP(net) !== 4) continue;
    const bits = Number(b);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if (((n & mask) >>> 0) === ipv4ToNumber(net) && (best === null || bits > best.bits)) best = { bits, entry: { cidr, region } };
  }
  return best?.entry ?? null;
}

// A map is the same for every zone and every publish: grouped once per map (array identity).
const grouped = new WeakMap<readonly ClientSubnet[], ReadonlyMap<string, readonly string[]>>();

/** The map grouped by region, regions and subnets in order: what the renderers write and capacity splits divide. */
export function subnetsByRegion(map: readonly ClientSubnet[]): ReadonlyMap<string, readonly string[]> {
  const hit = grouped.get(map);
  if (hit) return hit;
  const out = new Map<string, string[]>();
  for (const { cidr, region } of [...map].sort((a, b) => (a.region < b.region ? -1 : a.region > b.region ? 1 : a.cidr < b.cidr ? -1 : 1))) {
    const list = out.get(region) ?? [];
    list.push(cidr);
    out.set(region, list);
  }
  grouped.set(map, out);
  return out;
}

/** `cidr,region` lines (a header first) into a checked map; throws naming the first bad line. */
export function parseClientSubnets(csv: string): ClientSubnet[] {
  const lines = csv.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines[0] !== 'cidr,region') throw new Error('client subnets: the first line must be the header cidr,region');
  return lines.slice(1).map((line, i) => {
    const [cidr, region, ...rest] = line.split(',');
    const problem = rest.length > 0 ? 'more than two fields' : cidrProblem(cidr ?? '') ?? (/^[a-z0-9-]{1,32}$/.test(region ?? '') ? null : `region ${JSON.stringify(region)} is not a region id`);
    if (problem) throw new Error(`client subnets line ${i + 2}: ${problem}`);
    return { cidr, region };
  });
}
