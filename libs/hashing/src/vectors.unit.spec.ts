import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALGORITHM, HashLayout } from './layout';
import { movementPlan } from './movement';
import { ShardMap, buildTable, outranks, slotScore } from './table';
import { xxh32, xxh32Utf8 } from './xxh32';

// The published vectors (docs/contracts/hashing-vectors.json, written once by
// libs/hashing/scripts/generate-vectors.ts): what a Go or Java client tests itself against.
interface Vectors {
  algorithm: string;
  xxh32: { input: string; seed: number; hash: number; utf8Hex: string }[];
  rankings: { a: { h: number; weight: number; id: string }; b: { h: number; weight: number; id: string }; aRanksHigher: boolean }[];
  layouts: { name: string; layout: HashLayout; tableXxh32: number; slotsPerShard: Record<string, number>; keys: Record<string, string> }[];
  movements: { from: string; to: string; moved: number; exact: boolean; flows: { from: string; to: string; fraction: number }[] }[];
}
const vectors: Vectors = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'docs', 'contracts', 'hashing-vectors.json'), 'utf8'));
const layout = (name: string): HashLayout => vectors.layouts.find((l) => l.name === name)!.layout;

describe('published hashing vectors', () => {
  it('name this algorithm', () => expect(vectors.algorithm).toBe(ALGORITHM));

  it.each(vectors.xxh32)('XXH32($input, $seed)', ({ input, seed, hash, utf8Hex }) => {
    expect(Buffer.from(input, 'utf8').toString('hex')).toBe(utf8Hex);
    expect(xxh32Utf8(input, seed)).toBe(hash);
  });

  it.each(vectors.rankings)('ranking at a near-tie: $a.h/$a.weight against $b.h/$b.weight', ({ a, b, aRanksHigher }) => {
    expect(outranks(a.h, a.weight, slotScore(a.h, a.weight), a.id, b.h, b.weight, slotScore(b.h, b.weight), b.id)).toBe(aRanksHigher);
  });

  it.each(vectors.layouts)('layout $name: every key, the slots per shard and the whole table', ({ layout, keys, slotsPerShard, tableXxh32 }) => {
    const map = new ShardMap(layout);
    expect(Object.fromEntries(Object.keys(keys).map((k) => [k, map.shardFor(k)]))).toEqual(keys);
    const counts = map.slotCounts();
    expect(Object.fromEntries(layout.shards.map((s, i) => [s.id, counts[i]]))).toEqual(slotsPerShard);
    expect(xxh32(buildTable(layout), 0)).toBe(tableXxh32);
  });

  it.each(vectors.movements)('movement plan $from → $to', ({ from, to, ...plan }) => {
    expect(movementPlan(layout(from), layout(to))).toEqual(plan);
  });

  it('tell layouts apart: another seed, weight or bound gives another table', () => {
    const { layout: base, tableXxh32 } = vectors.layouts.find((l) => l.name === 'thirty-two-weighted')!;
    const variants: HashLayout[] = [
      { ...base, seed: base.seed + 1 },
      { ...base, loadBoundPermille: base.loadBoundPermille + 50 },
      { ...base, shards: base.shards.map((s, i) => (i === 0 ? { ...s, weight: s.weight + 1 } : s)) },
    ];
    for (const variant of variants) expect(xxh32(buildTable(variant), 0)).not.toBe(tableXxh32);
  });
});
