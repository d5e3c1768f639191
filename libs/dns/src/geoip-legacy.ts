/**
 * Reads the IPv4 country trie of a legacy GeoIP Country database (`GeoIP.dat`, Debian's
 * `geoip-database`): a binary tree of nodes, each two 3-byte little-endian records (bit 0, bit
 * 1); a record at or above `COUNTRY_BEGIN` is a leaf naming a country by index. Pure: takes the
 * file's bytes, returns every prefix the tree holds with its country index.
 */
export const COUNTRY_BEGIN = 16_776_960;
const RECORD_BYTES = 3;

export interface CountryPrefix {
  /** Network address as an unsigned 32-bit number. */
  network: number;
  bits: number;
  /** Index into the database's country table (0: unknown). */
  countryIndex: number;
}

export function readCountryPrefixes(db: Uint8Array): CountryPrefix[] {
  const record = (node: number, side: 0 | 1): number => {
    const at = (node * 2 + side) * RECORD_BYTES;
    if (at + RECORD_BYTES > db.length) throw new Error(`GeoIP.dat: node ${node} lies past the end of the file`);
    return db[at] | (db[at + 1] << 8) | (db[at + 2] << 16);
  };
  const out: CountryPrefix[] = [];
  // Depth-first, bit 0 before bit 1: prefixes come out in address order.
  const stack: Array<{ node: number; network: number; depth: number }> = [{ node: 0, network: 0, depth: 0 }];
  while (stack.length > 0) {
    const { node, network, depth } = stack.pop()!;
    if (depth >= 32) throw new Error('GeoIP.dat: the tree is deeper than 32 bits');
    for (const side of [1, 0] as const) {
      const r = record(node, side);
      const child = side === 1 ? (network | (1 << (31 - depth))) >>> 0 : network;
      if (r >= COUNTRY_BEGIN) out.push({ network: child, bits: depth + 1, countryIndex: r - COUNTRY_BEGIN });
      else stack.push({ node: r, network: child, depth: depth + 1 });
    }
  }
  return out.sort((a, b) => a.network - b.network || a.bits - b.bits);
}
