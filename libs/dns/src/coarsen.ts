import { ClientSubnet, ipv4ToNumber, numberToIpv4 } from './client-subnets';

/** A fine IPv4 prefix with its region (null: unknown). */
export interface RegionPrefix {
  network: number;
  bits: number;
  region: string | null;
}

/**
 * A coarse client subnet map: each /`bits` block gets the region most of its known addresses are
 * in, then sibling blocks with the same region merge into their parent, so the map is as short as
 * the block size allows. Coarse on purpose: the map is written into every geo record (Knot's
 * subnet list, PowerDNS' `view()`), and its size is what those cost; the ECS scope of an answer
 * is the block's prefix, so resolvers cache one answer per block. Returns the map and the share of
 * known addresses it maps to their own region (its accuracy against the fine map).
 */
export function coarsenIpv4(fine: readonly RegionPrefix[], bits: number): { subnets: ClientSubnet[]; accuracy: number } {
  if (!Number.isInteger(bits) || bits < 1 || bits > 24) throw new RangeError('bits must be an integer in 1..24');
  const blockSize = 2 ** (32 - bits);
  const votes = new Map<number, Map<string, number>>();
  let known = 0;
  for (const p of fine) {
    if (p.region === null) continue;
    const size = 2 ** (32 - p.bits);
    known += size;
    // A fine prefix may span several blocks (shorter than `bits`) or sit inside one.
    for (let start = p.network; start < p.network + size; start += blockSize) {
      const block = Math.floor(start / blockSize);
      const share = Math.min(size, blockSize);
      const tally = votes.get(block) ?? new Map<string, number>();
      tally.set(p.region, (tally.get(p.region) ?? 0) + share);
      votes.set(block, tally);
    }
  }
  let correct = 0;
  let level = new Map<number, string>();
  for (const [block, tally] of votes) {
    const [region, count] = [...tally].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    level.set(block, region);
    correct += count;
  }
  // Merge siblings with the same region, level by level.
  const out: ClientSubnet[] = [];
  for (let b = bits; b >= 1; b--) {
    const parent = new Map<number, string>();
    for (const [block, region] of level) {
      const sibling = block ^ 1;
      if (level.get(sibling) === region) {
        if (!parent.has(block >> 1)) parent.set(block >> 1, region);
      } else {
        out.push({ cidr: `${numberToIpv4(block * 2 ** (32 - b))}/${b}`, region });
      }
    }
    level = parent;
    if (b === 1) for (const [block, region] of level) out.push({ cidr: `${numberToIpv4(block * 2 ** 32)}/0`, region });
  }
  out.sort((x, y) => ipv4ToNumber(x.cidr.split('/')[0]) - ipv4ToNumber(y.cidr.split('/')[0]));
  return { subnets: out, accuracy: known > 0 ? correct / known : 0 };
}
