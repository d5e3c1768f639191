/**
 * A minimal MaxMind DB (format 2.0) writer for IPv4 prefix → record maps: enough for PowerDNS'
 * GeoIP backend (libmaxminddb) to read our client subnet map. Written from the format's
 * specification (https://maxmind.github.io/MaxMind-DB/): a binary search tree over the address
 * bits, a 16-byte zero separator, a data section of typed values, then the metadata map after
 * the marker "\xAB\xCD\xEFMaxMind.com". Used by bench/dns-pdns-geoip.ts; it would move to
 * libs/dns if the PowerDNS provider adopted the GeoIP backend.
 */

/** The value types this writer encodes (the format has more: doubles, bytes, int32, uint128, floats). */
export type MmdbValue = string | boolean | { uint16: number } | { uint32: number } | { uint64: bigint } | MmdbValue[] | { [key: string]: MmdbValue };

const TYPE = { utf8: 2, uint16: 5, uint32: 6, map: 7, uint64: 9, array: 11, boolean: 14 } as const;
const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com', 'ascii')]);
const RECORD_BITS = 24;

/** Control byte(s): type in the top 3 bits (types above 7 as "extended": 0 there, type − 7 in the next byte), then the size. */
function control(type: number, size: number): Buffer {
  const head: number[] = [];
  let sizeBits: number;
  let extra: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 29 + 256) {
    sizeBits = 29;
    extra = [size - 29];
  } else if (size < 285 + 65_536) {
    sizeBits = 30;
    const rest = size - 285;
    extra = [rest >> 8, rest & 0xff];
  } else {
    sizeBits = 31;
    const rest = size - 65_821;
    extra = [(rest >> 16) & 0xff, (rest >> 8) & 0xff, rest & 0xff];
  }
  if (type <= 7) head.push((type << 5) | sizeBits);
  else head.push(sizeBits, type - 7);
  return Buffer.from([...head, ...extra]);
}

/** An unsigned integer big-endian in as few bytes as it needs (the size says how many). */
function unsigned(type: number, value: bigint): Buffer {
  const bytes: number[] = [];
  for (let v = value; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
}

export function encodeMmdbValue(value: MmdbValue): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([control(TYPE.utf8, bytes.length), bytes]);
  }
  // A boolean has no payload: the size is its value.
  if (typeof value === 'boolean') return control(TYPE.boolean, value ? 1 : 0);
  if (Array.isArray(value)) return Buffer.concat([control(TYPE.array, value.length), ...value.map(encodeMmdbValue)]);
  if ('uint16' in value && typeof value.uint16 === 'number') return unsigned(TYPE.uint16, BigInt(value.uint16));
  if ('uint32' in value && typeof value.uint32 === 'number') return unsigned(TYPE.uint32, BigInt(value.uint32));
  if ('uint64' in value && typeof value.uint64 === 'bigint') return unsigned(TYPE.uint64, value.uint64);
  const entries = Object.entries(value as Record<string, MmdbValue>);
  return Buffer.concat([control(TYPE.map, entries.length), ...entries.flatMap(([k, v]) => [encodeMmdbValue(k), encodeMmdbValue(v)])]);
}

/** A search tree record: another node, no data, or a value in the data section. */
type Slot = { node: number } | { data: number } | null;

export interface MmdbPrefix {
  /** `a.b.c.d/len` */
  readonly cidr: string;
  /** Which of `values` this prefix maps to. */
  readonly value: number;
}

export interface MmdbOptions {
  readonly databaseType: string;
  readonly description: string;
  readonly buildEpoch?: number;
}

function parseCidr(cidr: string): { address: number; length: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) throw new Error(`not an IPv4 prefix: ${cidr}`);
  return { address: ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0, length: Number(m[5]) };
}

/**
 * An IPv4 database (`ip_version` 4, 24-bit records) mapping each prefix to its value; the more
 * specific prefix wins where two overlap. Each distinct value is stored once in the data section.
 * A lookup's netmask is the prefix length the tree ends at, which PowerDNS returns as the ECS scope.
 */
export function writeMmdb(prefixes: readonly MmdbPrefix[], values: readonly MmdbValue[], options: MmdbOptions): Buffer {
  const encoded = values.map(encodeMmdbValue);
  const offsets: number[] = [];
  let at = 0;
  for (const e of encoded) {
    offsets.push(at);
    at += e.length;
  }
  // Node 0 is the root; each node holds its two records (bit 0, bit 1).
  const nodes: [Slot, Slot][] = [[null, null]];
  const sorted = prefixes.map((p) => ({ ...parseCidr(p.cidr), cidr: p.cidr, value: p.value })).sort((a, b) => a.length - b.length);
  for (const p of sorted) {
    if (p.value < 0 || p.value >= values.length) throw new Error(`prefix value ${p.value} is not one of the ${values.length} values`);
    if (p.length === 0) throw new Error('a /0 prefix has no record in the tree');
    let node = 0;
    for (let depth = 0; depth < p.length - 1; depth++) {
      const bit = (p.address >>> (31 - depth)) & 1;
      const slot = nodes[node][bit];
      if (slot !== null && 'node' in slot) {
        node = slot.node;
        continue;
      }
      // An empty or data record on the way down becomes a node; data covering the new prefix is pushed to both halves.
      nodes.push([slot, slot]);
      nodes[node][bit] = { node: nodes.length - 1 };
      node = nodes.length - 1;
    }
    const last = (p.address >>> (32 - p.length)) & 1;
    const existing = nodes[node][last];
    if (existing !== null && 'node' in existing) throw new Error(`${p.cidr} overlaps a more specific prefix inserted before it`);
    nodes[node][last] = { data: p.value };
  }

  const nodeCount = nodes.length;
  if (nodeCount + 16 + at >= 2 ** RECORD_BITS) throw new Error('too large for 24-bit records');
  const recordValue = (slot: Slot): number => (slot === null ? nodeCount : 'node' in slot ? slot.node : nodeCount + 16 + offsets[slot.data]);
  const tree = Buffer.alloc(nodeCount * 6);
  nodes.forEach(([left, right], i) => {
    tree.writeUIntBE(recordValue(left), i * 6, 3);
    tree.writeUIntBE(recordValue(right), i * 6 + 3, 3);
  });
  const metadata = encodeMmdbValue({
    node_count: { uint32: nodeCount },
    record_size: { uint16: RECORD_BITS },
    ip_version: { uint16: 4 },
    database_type: options.databaseType,
    languages: ['en'],
    binary_format_major_version: { uint16: 2 },
    binary_format_minor_version: { uint16: 0 },
    build_epoch: { uint64: BigInt(options.buildEpoch ?? Math.floor(Date.now() / 1000)) },
    description: { en: options.description },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...encoded, METADATA_MARKER, metadata]);
}
