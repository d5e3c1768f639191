/**
 * Writes docs/contracts/hashing-vectors.json: XXH32 values, and for several layouts the shard of
 * each of a set of keys, the slots per shard and the XXH32 of the whole table, plus movement plans.
 * Run once when the algorithm is defined (`npx tsx libs/hashing/scripts/generate-vectors.ts`);
 * libs/hashing/src/vectors.unit.spec.ts holds the implementation to the file. Regenerating it is a
 * contract change: clients in other languages test against it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALGORITHM, HashLayout, ShardMap, buildTable, movementPlan, xxh32, xxh32Utf8 } from '../src';
import { outranks, slotScore } from '../src/table';

const OUT = join(__dirname, '..', '..', '..', 'docs', 'contracts', 'hashing-vectors.json');
const encoder = new TextEncoder();

const HASH_INPUTS: [string, number][] = [
  ['', 0], ['a', 0], ['abc', 0], ['abcd', 0], ['0123456789abcdef', 0], ['user:1', 0], ['user:1', 1], ['user:1', 0xffffffff],
  ['the quick brown fox jumps over the lazy dog', 0x9e3779b1], ['zürich', 0], ['東京', 7], ['emoji 🚀', 0], ['\ud800 lone surrogate', 0],
];

const region = (slug: string, weight: number) => ({ id: `${slug}.app.example.com`, weight });
const weighted32 = Array.from({ length: 32 }, (_, i) => ({ id: `r${i}.shop.example.org`, weight: 11 + 6 * (i % 8) }));
const LAYOUTS: [string, HashLayout][] = [
  ['one-shard', { seed: 0, tableBits: 16, loadBoundPermille: 50, shards: [region('us-east', 1)] }],
  ['three-equal', { seed: 0, tableBits: 16, loadBoundPermille: 50, shards: [region('us-east', 10), region('eu-west', 10), region('ap-south', 10)] }],
  ['three-weighted', { seed: 0, tableBits: 16, loadBoundPermille: 50, shards: [region('us-east', 50), region('eu-west', 30), region('ap-south', 20)] }],
  ['three-weighted-one-added', { seed: 0, tableBits: 16, loadBoundPermille: 50, shards: [region('us-east', 50), region('eu-west', 30), region('ap-south', 20), region('sa-east', 25)] }],
  ['three-weighted-one-removed', { seed: 0, tableBits: 16, loadBoundPermille: 50, shards: [region('us-east', 50), region('ap-south', 20)] }],
  ['five-seeded-small-table', { seed: 42, tableBits: 12, loadBoundPermille: 100, shards: ['a', 'b', 'c', 'd', 'e'].map((s, i) => region(`region-${s}`, 1 + i)) }],
  ['thirty-two-weighted', { seed: 0xdeadbeef, tableBits: 16, loadBoundPermille: 50, shards: weighted32 }],
  ['thirty-two-heavy-first', { seed: 0xdeadbeef, tableBits: 16, loadBoundPermille: 20, shards: [{ id: 'big.shop.example.org', weight: 9000 }, ...weighted32.slice(1)] }],
];
const MOVEMENTS: [string, string][] = [
  ['three-weighted', 'three-weighted-one-added'],
  ['three-weighted', 'three-weighted-one-removed'],
  ['thirty-two-weighted', 'thirty-two-heavy-first'],
];

const KEYS = [
  '', 'a', 'user:1', 'user:2', 'user:42', 'tenant-7', 'session/3f9a1c2b-77d0-4e8e-9f41-0c5b8d2e6a13', 'ab', 'abcd', 'abcdefghijklmnop',
  'abcdefghijklmnopq', 'Ünïcödé-ключ', '東京/ユーザー/1', '🚀🚀', ...Array.from({ length: 36 }, (_, i) => `key-${i * 7919}`),
];

// Slot comparisons at near-ties (w 1 against w 2 at u_b ≈ u_a²), where floating point cannot
// decide and the exact integer rule does, and an exact tie (the smaller id ranks higher).
const RANKINGS = [1, 12345, 2 ** 31, 4294967290].flatMap((ha) => {
  const ua = (2 * ha + 1) / 2 ** 33;
  const tie = Math.round((ua * ua * 2 ** 33 - 1) / 2);
  return [tie - 1, tie, tie + 1].filter((hb) => hb >= 0 && hb < 2 ** 32).map((hb) => ({ a: { h: ha, weight: 1, id: 'a' }, b: { h: hb, weight: 2, id: 'b' } }));
}).concat([{ a: { h: 99, weight: 3, id: 'b' }, b: { h: 99, weight: 3, id: 'a' } }])
  .map(({ a, b }) => ({ a, b, aRanksHigher: outranks(a.h, a.weight, slotScore(a.h, a.weight), a.id, b.h, b.weight, slotScore(b.h, b.weight), b.id) }));

const layouts = LAYOUTS.map(([name, layout]) => {
  const map = new ShardMap(layout);
  const table = buildTable(layout);
  const counts = map.slotCounts();
  return {
    name,
    layout,
    tableXxh32: xxh32(table, 0),
    slotsPerShard: Object.fromEntries(layout.shards.map((s, i) => [s.id, counts[i]])),
    keys: Object.fromEntries(KEYS.map((k) => [k, map.shardFor(k)])),
  };
});
const byName = new Map(LAYOUTS);
const vectors = {
  description:
    'Test vectors for docs/contracts/hashing.md. xxh32: XXH32(UTF-8 bytes of input, seed). layouts: for each layout, the shard of each key, ' +
    'the slots each shard holds, and tableXxh32 = XXH32(table bytes, seed 0) where byte s is the index (in layout.shards order) of slot s’s shard. ' +
    'rankings: slot comparisons (h = the slot hash of a shard) at near-ties, decided by the exact rule. movements: the exact movement plan between two layouts (fractions of the key space).',
  algorithm: ALGORITHM,
  xxh32: HASH_INPUTS.map(([input, seed]) => ({ input, seed, hash: xxh32Utf8(input, seed), utf8Hex: Buffer.from(encoder.encode(input)).toString('hex') })),
  rankings: RANKINGS,
  layouts,
  movements: MOVEMENTS.map(([from, to]) => ({ from, to, ...movementPlan(byName.get(from)!, byName.get(to)!) })),
};
writeFileSync(OUT, JSON.stringify(vectors, null, 2) + '\n');
console.log(`wrote ${OUT}`);
