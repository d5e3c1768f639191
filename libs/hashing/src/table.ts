import { HashLayout, layoutProblem } from './layout';
import { xxh32, xxh32Pair, xxh32Utf8 } from './xxh32';

const TWO_POW_32 = 4294967296;
const log = Math.log; // a module constant: a global read is slow in a vm context (Jest)
// Float scores closer than this (relative) are compared exactly: a libm log may be 1 ulp off (~1e-16).
const FLOAT_FILTER = 1e-12;

/**
 * Does shard a (hash ha, weight wa) outrank shard b at a slot? Weighted rendezvous ("logarithmic
 * method"): u = (2h + 1) / 2^33 ∈ (0, 1), the larger u^(1/w) wins, so shard i wins a slot with
 * probability w_i / Σw. Compared as ln(u)/w in floating point, and exactly (integers) when the two
 * are too close for floating point to be trusted, so every language gets the same answer.
 */
export function outranks(ha: number, wa: number, sa: number, ida: string, hb: number, wb: number, sb: number, idb: string): boolean {
  // Scores are ≤ 0: the larger magnitude is -min. (No Math.* here: see `log`.)
  const gap = sa > sb ? sa - sb : sb - sa;
  if (gap > FLOAT_FILTER * (sa < sb ? -sa : -sb)) return sa > sb;
  // u_a^(1/wa) vs u_b^(1/wb)  ⇔  (2ha+1)^wb · 2^(33·wa)  vs  (2hb+1)^wa · 2^(33·wb)
  const left = (2n * BigInt(ha) + 1n) ** BigInt(wb) << BigInt(33 * wa);
  const right = (2n * BigInt(hb) + 1n) ** BigInt(wa) << BigInt(33 * wb);
  if (left !== right) return left > right;
  return ida < idb;
}

/** Slot score as a float: ln(u)/w (≤ 0; larger wins). */
export function slotScore(h: number, weight: number): number {
  return log((h + 0.5) / TWO_POW_32) / weight;
}

/**
 * The layout's table: slot s holds the index (into layout.shards) of its shard. Slots are filled in
 * order 0..2^bits-1; each takes its highest-ranked shard that is below its cap
 * ceil(2^bits · w_i · (1000 + ε‰) / (1000 · Σw)). A pure function of the layout.
 */
export function buildTable(layout: HashLayout): Uint8Array {
  const problem = layoutProblem(layout);
  if (problem) throw new Error(`invalid hash layout: ${problem}`);
  const { seed, tableBits, loadBoundPermille, shards } = layout;
  const size = 2 ** tableBits;
  const table = new Uint8Array(size);
  const n = shards.length;
  if (n === 0) return table;
  const encoder = new TextEncoder();
  const shardHash = shards.map((s) => xxh32(encoder.encode(s.id), seed));
  const weights = shards.map((s) => s.weight);
  const ids = shards.map((s) => s.id);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const caps = weights.map((w) => Math.ceil((size * w * (1000 + loadBoundPermille)) / (1000 * totalWeight)));
  const counts = new Array<number>(n).fill(0);
  const h = new Array<number>(n);
  const score = new Array<number>(n);
  for (let slot = 0; slot < size; slot++) {
    let best = -1;
    for (let i = 0; i < n; i++) {
      if (counts[i] >= caps[i]) continue;
      h[i] = xxh32Pair(slot, shardHash[i], seed);
      score[i] = slotScore(h[i], weights[i]);
      if (best < 0 || outranks(h[i], weights[i], score[i], ids[i], h[best], weights[best], score[best], ids[best])) best = i;
    }
    counts[best]++;
    table[slot] = best;
  }
  return table;
}

/** The hash of a key and its slot: the low tableBits bits of XXH32(UTF-8 key, seed). */
export function keySlot(key: string, layout: Pick<HashLayout, 'seed' | 'tableBits'>): number {
  return xxh32Utf8(key, layout.seed) & ((1 << layout.tableBits) - 1);
}

/** A built layout: answers shardFor(key) with one hash and one table read. */
export class ShardMap {
  readonly shardIds: readonly string[];
  private readonly table: Uint8Array;
  private readonly mask: number;
  private readonly seed: number;

  constructor(readonly layout: HashLayout) {
    this.table = buildTable(layout);
    this.shardIds = layout.shards.map((s) => s.id);
    this.mask = this.table.length - 1;
    this.seed = layout.seed;
  }

  /** The id of the key's shard; undefined only for a layout with no shards. */
  shardFor(key: string): string | undefined {
    return this.shardIds[this.table[xxh32Utf8(key, this.seed) & this.mask]];
  }

  /** The key's shard as an index into layout.shards (-1 for a layout with no shards). */
  shardIndexFor(key: string): number {
    return this.shardIds.length === 0 ? -1 : this.table[xxh32Utf8(key, this.seed) & this.mask];
  }

  /** Slots held per shard (index into layout.shards): each slot is 2^-tableBits of the key space. */
  slotCounts(): number[] {
    const counts = new Array<number>(this.shardIds.length).fill(0);
    for (const s of this.table) counts[s]++;
    return this.shardIds.length === 0 ? [] : counts;
  }

  /** Shard index of every slot (a copy). */
  slots(): Uint8Array {
    return this.table.slice();
  }
}
