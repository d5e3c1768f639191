/**
 * shardcast's key → shard lookup (libs/hashing) against `hashring` (ketama-compatible, the most
 * used npm consistent-hashing library), in one run.
 *
 *   npm run bench:hashing [-- --keys 10000000] [--peer-movement-keys 2000000] [--compare] [--compare-keys 1000000]
 *
 * Protocol: 32 shards weighted by reserved capacity (capacities 1, 1.5, … 4.5, repeated, quantised
 * by quantiseWeights). `--keys` distinct string keys ('user:' + a scrambled 32-bit id in base 36,
 * ≤ 12 chars, so V8 stores them flat) are generated into an array before any timing. Each library
 * then maps every key once through its public lookup (ShardMap.shardFor, HashRing.get), hashing
 * included: no key repeats, so no cache can answer (hashring's LRU only pays its insertions).
 * Both are warmed first on other keys. Then, untimed: the fraction of keys whose shard changes when
 * a 33rd shard (of the mean weight) is added and when one shard is removed, as a multiple of the
 * optimal (the weight share that must move: w_new / Σw' on add, w_removed / Σw on remove), and the
 * max load: the largest keys_i / (N · w_i / Σw). hashring's movement and load are measured on the
 * first --peer-movement-keys keys (it is ~30× slower). movement_vs_optimal is the worse of add and
 * remove. `--compare` also measures the alternatives of docs/decisions/0028 on --compare-keys keys.
 * Ends with one JSON line: {"bench":"hashing","lookups_per_s","peer","peer_lookups_per_s","ratio","movement_vs_optimal","max_load_ratio"}.
 */
import { parseArgs } from 'node:util';
import { HashLayout, LayoutShard, ShardMap, quantiseWeights, xxh32, xxh32Pair, xxh32Utf8 } from '@shardcast/hashing';

interface Ring {
  get(key: string): string;
}
// hashring ships no types: its constructor takes { server: { weight } } and get() returns the server.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const HashRing: new (servers: Record<string, { weight: number }>) => Ring = require('hashring');

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '10000000' },
    'peer-movement-keys': { type: 'string', default: '2000000' },
    compare: { type: 'boolean', default: false },
    'compare-keys': { type: 'string', default: '1000000' },
  },
});
const KEYS = Number(args.keys);
const PEER_MOVEMENT_KEYS = Math.min(KEYS, Number(args['peer-movement-keys']));
const SHARDS = 32;
const REMOVED = 5;

const shardId = (i: number): string => `r${i}.bench.example.com`;
const capacity = new Map(Array.from({ length: SHARDS }, (_, i) => [shardId(i), 1 + 0.5 * (i % 8)] as const));
const weights = quantiseWeights(capacity);
const shards: LayoutShard[] = [...weights].map(([id, weight]) => ({ id, weight }));
const meanWeight = Math.round(shards.reduce((s, x) => s + x.weight, 0) / SHARDS);
const layout: HashLayout = { seed: 0, tableBits: 16, loadBoundPermille: 50, shards };
const added: HashLayout = { ...layout, shards: [...shards, { id: shardId(SHARDS), weight: meanWeight }] };
const removed: HashLayout = { ...layout, shards: shards.filter((_, i) => i !== REMOVED) };

const keyOf = (i: number): string => 'user:' + (Math.imul(i, 0x9e3779b1) >>> 0).toString(36);
function generateKeys(n: number, prefix = ''): string[] {
  const keys = new Array<string>(n);
  for (let i = 0; i < n; i++) keys[i] = prefix + keyOf(i);
  return keys;
}

/**
 * Lookups per second of one pass over every key; the sum of shard-name lengths keeps the work live.
 * One loop per library (not a shared loop over a callback) so each call site sees one function.
 */
function timeShardMap(keys: readonly string[], map: ShardMap): number {
  const start = process.hrtime.bigint();
  let live = 0;
  for (let i = 0; i < keys.length; i++) live += map.shardFor(keys[i])!.length;
  return rate(keys.length, start, live);
}
function timeRing(keys: readonly string[], ring: Ring): number {
  const start = process.hrtime.bigint();
  let live = 0;
  for (let i = 0; i < keys.length; i++) live += ring.get(keys[i]).length;
  return rate(keys.length, start, live);
}
function timeLookups(keys: readonly string[], lookup: (key: string) => string | undefined): number {
  const start = process.hrtime.bigint();
  let live = 0;
  for (let i = 0; i < keys.length; i++) live += lookup(keys[i])!.length;
  return rate(keys.length, start, live);
}
function rate(n: number, start: bigint, live: number): number {
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (live === 0) throw new Error('no lookups');
  return n / seconds;
}

interface Quality {
  readonly addRatio: number;
  readonly removeRatio: number;
  readonly maxLoadRatio: number;
}

/** Movement on add/remove as a multiple of optimal, and the max load over weighted share. */
function quality(keys: readonly string[], lookup: (l: HashLayout) => (key: string) => string | undefined): Quality {
  const assign = (l: HashLayout): (string | undefined)[] => {
    const f = lookup(l);
    return keys.map((k) => f(k));
  };
  const base = assign(layout);
  const moved = (other: (string | undefined)[]): number => base.reduce((m, s, i) => m + (s !== other[i] ? 1 : 0), 0) / keys.length;
  const total = shards.reduce((s, x) => s + x.weight, 0);
  const addRatio = moved(assign(added)) / (meanWeight / (total + meanWeight));
  const removeRatio = moved(assign(removed)) / (shards[REMOVED].weight / total);
  const counts = new Map<string, number>();
  for (const s of base) counts.set(s!, (counts.get(s!) ?? 0) + 1);
  const maxLoadRatio = Math.max(...shards.map((s) => (counts.get(s.id) ?? 0) / ((keys.length * s.weight) / total)));
  return { addRatio, removeRatio, maxLoadRatio };
}

const ringOf = (l: HashLayout): Ring => new HashRing(Object.fromEntries(l.shards.map((s) => [s.id, { weight: s.weight }])));
const shardMapLookup = (l: HashLayout) => {
  const map = new ShardMap(l);
  return (key: string) => map.shardFor(key);
};

// --- alternatives for docs/decisions/0028 (--compare) ---
const encoder = new TextEncoder();
/** Weighted rendezvous evaluated per key: O(shards) scores per lookup, no table. */
function rendezvousLookup(l: HashLayout) {
  const hs = l.shards.map((s) => xxh32(encoder.encode(s.id), l.seed));
  const ws = l.shards.map((s) => s.weight);
  const ids = l.shards.map((s) => s.id);
  return (key: string) => {
    const k = xxh32Utf8(key, l.seed);
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < hs.length; i++) {
      const h = xxh32Pair(k, hs[i], l.seed);
      const score = Math.log((h + 0.5) / 4294967296) / ws[i];
      if (score > bestScore) (bestScore = score), (best = i);
    }
    return ids[best];
  };
}
/** Maglev (Eisenbud et al., NSDI 2016), 65,537 entries, weights by fill credit (as Envoy does). */
function maglevLookup(l: HashLayout) {
  const M = 65537;
  const n = l.shards.length;
  const offset = l.shards.map((s) => xxh32(encoder.encode(s.id), 0xdeadbeef) % M);
  const skip = l.shards.map((s) => (xxh32(encoder.encode(s.id), 0x5eed) % (M - 1)) + 1);
  const maxW = Math.max(...l.shards.map((s) => s.weight));
  const next = new Array<number>(n).fill(0);
  const credit = new Array<number>(n).fill(0);
  const table = new Int32Array(M).fill(-1);
  let filled = 0;
  while (filled < M) {
    for (let i = 0; i < n && filled < M; i++) {
      credit[i] += l.shards[i].weight / maxW;
      if (credit[i] < 1) continue;
      credit[i] -= 1;
      let slot = (offset[i] + next[i] * skip[i]) % M;
      while (table[slot] >= 0) slot = (offset[i] + ++next[i] * skip[i]) % M;
      table[slot] = i;
      next[i]++;
      filled++;
    }
  }
  const ids = l.shards.map((s) => s.id);
  return (key: string) => ids[table[xxh32Utf8(key, l.seed) % M]];
}
function tableLookup(tableBits: number, loadBoundPermille: number) {
  return (l: HashLayout) => shardMapLookup({ ...l, tableBits, loadBoundPermille });
}

const fmt = (x: number, digits = 3): string => x.toFixed(digits);
const millions = (x: number): string => `${(x / 1e6).toFixed(2)}M`;

function main(): void {
  console.log(`bench:hashing — ${SHARDS} shards, weights ${[...new Set(shards.map((s) => s.weight))].join('/')} (Σ ${shards.reduce((s, x) => s + x.weight, 0)}), ${KEYS.toLocaleString('en')} distinct keys`);
  const keys = generateKeys(KEYS);
  const warm = generateKeys(200_000, 'warm:');
  const map = new ShardMap(layout);
  const ring = ringOf(layout);
  timeShardMap(warm, map);
  timeRing(warm, ring);

  const lookupsPerS = timeShardMap(keys, map);
  const peerLookupsPerS = timeRing(keys, ring);
  const ours = quality(keys, shardMapLookup);
  const peer = quality(keys.slice(0, PEER_MOVEMENT_KEYS), (l) => {
    const r = ringOf(l);
    return (k) => r.get(k);
  });

  const rows: [string, string, string][] = [
    ['lookups/s (one pass, 10M distinct keys)', millions(lookupsPerS), millions(peerLookupsPerS)],
    ['movement on add (× optimal)', fmt(ours.addRatio), fmt(peer.addRatio)],
    ['movement on remove (× optimal)', fmt(ours.removeRatio), fmt(peer.removeRatio)],
    ['max load / weighted share', fmt(ours.maxLoadRatio), fmt(peer.maxLoadRatio)],
    ['keys for movement and load', KEYS.toLocaleString('en'), PEER_MOVEMENT_KEYS.toLocaleString('en')],
  ];
  console.log('\n| | shardcast (bounded-rendezvous-table-xxh32) | hashring |\n|---|---|---|');
  for (const [name, a, b] of rows) console.log(`| ${name} | ${a} | ${b} |`);

  if (args.compare) {
    const n = Number(args['compare-keys']);
    const sample = keys.slice(0, n);
    const alternatives: [string, (l: HashLayout) => (key: string) => string | undefined][] = [
      ['table 2^16, ε = 5 % (chosen)', tableLookup(16, 50)],
      ['table 2^16, ε = 100 % (bound never binds)', tableLookup(16, 1000)],
      ['table 2^12, ε = 5 %', tableLookup(12, 50)],
      ['weighted rendezvous per key (O(n))', rendezvousLookup],
      ['Maglev 65,537, weighted', maglevLookup],
      ['ring: hashring (ketama, 160 points per server on average, by weight)', (l) => {
        const r = ringOf(l);
        return (k) => r.get(k);
      }],
    ];
    console.log(`\nAlternatives, ${n.toLocaleString('en')} keys (same layout, same keys):\n\n| algorithm | lookups/s | add (× optimal) | remove (× optimal) | max load / share | build ms |\n|---|---|---|---|---|---|`);
    for (const [name, make] of alternatives) {
      const t0 = process.hrtime.bigint();
      const f = make(layout);
      const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
      timeLookups(warm, f);
      const lookupsPerSecond = timeLookups(sample, f);
      const q = quality(sample, make);
      console.log(`| ${name} | ${millions(lookupsPerSecond)} | ${fmt(q.addRatio)} | ${fmt(q.removeRatio)} | ${fmt(q.maxLoadRatio)} | ${buildMs.toFixed(0)} |`);
    }
  }

  const result = {
    bench: 'hashing',
    lookups_per_s: Math.round(lookupsPerS),
    peer: 'hashring',
    peer_lookups_per_s: Math.round(peerLookupsPerS),
    ratio: Number((lookupsPerS / peerLookupsPerS).toFixed(2)),
    movement_vs_optimal: Number(Math.max(ours.addRatio, ours.removeRatio).toFixed(3)),
    max_load_ratio: Number(ours.maxLoadRatio.toFixed(3)),
  };
  console.log('\n' + JSON.stringify(result));
}

main();
