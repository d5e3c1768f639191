import fc from 'fast-check';
import { quantiseWeights } from './hysteresis';
import { HashLayout, LayoutShard, layoutProblem } from './layout';
import { movementPlan } from './movement';
import { ShardMap, buildTable, outranks, slotScore } from './table';

const TABLE_BITS = 15;
const SLOTS = 2 ** TABLE_BITS;
const shardsArb = (min: number, max: number) =>
  fc.uniqueArray(fc.record({ id: fc.stringMatching(/^[a-z][a-z0-9-]{0,12}\.example\.com$/), weight: fc.integer({ min: 1, max: 100 }) }), {
    minLength: min,
    maxLength: max,
    selector: (s) => s.id,
  });
const layoutOf = (shards: LayoutShard[], loadBoundPermille = 50): HashLayout => ({ seed: 7, tableBits: TABLE_BITS, loadBoundPermille, shards });
const total = (shards: readonly LayoutShard[]) => shards.reduce((s, x) => s + x.weight, 0);
const keys = Array.from({ length: 20_000 }, (_, i) => `user:${i}`);

/**
 * Movement bound, stated: with m = SLOTS · optimal slots expected to move, the fraction moved is
 * within 10 % of optimal plus 5 binomial standard deviations (sqrt(m)/SLOTS) plus what the load
 * bound re-places (at most ε of the moving shard's share).
 */
function movementBound(optimal: number): number {
  return 0.1 * optimal + (5 * Math.sqrt(SLOTS * optimal)) / SLOTS + 0.05 * optimal;
}

describe('ShardMap: bounded-load weighted rendezvous table', () => {
  it('is deterministic and independent of the order of the shards', () => {
    fc.assert(
      fc.property(shardsArb(1, 12), fc.integer(), (shards, rotate) => {
        const a = new ShardMap(layoutOf(shards));
        const k = ((rotate % shards.length) + shards.length) % shards.length;
        const b = new ShardMap(layoutOf([...shards.slice(k), ...shards.slice(0, k)].reverse()));
        for (const key of keys.slice(0, 2000)) expect(b.shardFor(key)).toBe(a.shardFor(key));
      }),
      { numRuns: 15 },
    );
  });

  it('holds every shard to its load bound: at most ceil((1 + ε) × its weighted share) of the slots', () => {
    fc.assert(
      fc.property(shardsArb(1, 40), fc.integer({ min: 1, max: 200 }), (shards, epsilon) => {
        const map = new ShardMap(layoutOf(shards, epsilon));
        const counts = map.slotCounts();
        expect(counts.reduce((a, b) => a + b, 0)).toBe(SLOTS);
        shards.forEach((s, i) => expect(counts[i]).toBeLessThanOrEqual(Math.ceil((SLOTS * s.weight * (1 + epsilon / 1000)) / total(shards))));
      }),
      { numRuns: 15 },
    );
  });

  it('balances keys within ε of the weighted shares (plus sampling noise)', () => {
    const shards = Array.from({ length: 8 }, (_, i) => ({ id: `s${i}.example.com`, weight: 10 * (i + 1) }));
    const map = new ShardMap(layoutOf(shards));
    const counts = new Array<number>(shards.length).fill(0);
    for (let i = 0; i < 200_000; i++) counts[map.shardIndexFor(`session-${i}`)]++;
    shards.forEach((s, i) => {
      const expected = (200_000 * s.weight) / total(shards);
      expect(counts[i]).toBeLessThanOrEqual(expected * 1.05 + 5 * Math.sqrt(expected));
    });
  });

  it('moves ≈ the optimal share when a shard is added, all of it to the new shard', () => {
    fc.assert(
      fc.property(shardsArb(3, 24), fc.integer({ min: 1, max: 100 }), (shards, weight) => {
        const before = layoutOf(shards);
        const after = layoutOf([...shards, { id: 'added.example.net', weight }]);
        const optimal = weight / (total(shards) + weight);
        const plan = movementPlan(before, after);
        expect(Math.abs(plan.moved - optimal)).toBeLessThanOrEqual(movementBound(optimal));
        const intoNew = plan.flows.filter((f) => f.to === 'added.example.net').reduce((s, f) => s + f.fraction, 0);
        expect(intoNew).toBeGreaterThanOrEqual(plan.moved - 0.05 * optimal - 5 / SLOTS);
      }),
      { numRuns: 20 },
    );
  });

  it('moves ≈ the removed shard’s share when one is removed, and only its keys', () => {
    fc.assert(
      fc.property(shardsArb(3, 24), fc.nat(), (shards, pick) => {
        const gone = shards[pick % shards.length];
        const plan = movementPlan(layoutOf(shards), layoutOf(shards.filter((s) => s !== gone)));
        const optimal = gone.weight / total(shards);
        expect(Math.abs(plan.moved - optimal)).toBeLessThanOrEqual(movementBound(optimal));
        const fromGone = plan.flows.filter((f) => f.from === gone.id).reduce((s, f) => s + f.fraction, 0);
        expect(fromGone).toBeGreaterThanOrEqual(plan.moved - 0.05 * optimal - 5 / SLOTS);
      }),
      { numRuns: 20 },
    );
  });
});

describe('movementPlan', () => {
  it('is exact: each flow is the fraction of keys whose shard changes that way', () => {
    const shards = Array.from({ length: 5 }, (_, i) => ({ id: `s${i}.example.com`, weight: 3 + i }));
    const before = { ...layoutOf(shards), tableBits: 10 };
    const after = { ...layoutOf([...shards.slice(1), { id: 'n.example.com', weight: 4 }]), tableBits: 12 };
    const plan = movementPlan(before, after);
    expect(plan.exact).toBe(true);
    const a = new ShardMap(before);
    const b = new ShardMap(after);
    const observed = new Map<string, number>();
    const sample = Array.from({ length: 100_000 }, (_, i) => `k${i}`);
    for (const k of sample) {
      const from = a.shardFor(k)!;
      const to = b.shardFor(k)!;
      if (from !== to) observed.set(`${from}>${to}`, (observed.get(`${from}>${to}`) ?? 0) + 1);
    }
    for (const f of plan.flows) expect(Math.abs((observed.get(`${f.from}>${f.to}`) ?? 0) / sample.length - f.fraction)).toBeLessThan(0.006);
    expect(plan.moved).toBeCloseTo(plan.flows.reduce((s, f) => s + f.fraction, 0), 12);
  });

  it('moves nothing between equal layouts, and estimates when the seed changes', () => {
    const shards = [{ id: 'a.example.com', weight: 1 }, { id: 'b.example.com', weight: 3 }];
    expect(movementPlan(layoutOf(shards), layoutOf([...shards].reverse()))).toEqual({ moved: 0, exact: true, flows: [] });
    const reseeded = movementPlan(layoutOf(shards), { ...layoutOf(shards), seed: 8 });
    expect(reseeded.exact).toBe(false);
    expect(reseeded.moved).toBeCloseTo(2 * 0.25 * 0.75, 2);
  });
});

describe('quantiseWeights: hysteresis', () => {
  const capacity = (entries: [string, number][]) => new Map(entries);

  it('gives integer weights summing to about totalUnits, the same for any scale of capacity', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.01, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }), fc.double({ min: 0.001, max: 1000, noNaN: true }), (caps, scale) => {
        const a = quantiseWeights(capacity(caps.map((c, i) => [`s${i}`, c])));
        const b = quantiseWeights(capacity(caps.map((c, i) => [`s${i}`, c * scale])));
        for (const w of a.values()) expect(Number.isInteger(w) && w >= 1).toBe(true);
        for (const [id, w] of a) expect(Math.abs(b.get(id)! - w)).toBeLessThanOrEqual(1); // rounding at a .5 boundary
        expect(Math.abs([...a.values()].reduce((s, w) => s + w, 0) - 1000)).toBeLessThanOrEqual(caps.length);
      }),
    );
  });

  it('holds weights (so no key moves) while capacity drifts within the step, and follows a larger change', () => {
    const first = quantiseWeights(capacity([['a', 100], ['b', 200], ['c', 300]]));
    const drifted = quantiseWeights(capacity([['a', 106], ['b', 195], ['c', 303]]), first);
    expect(drifted).toEqual(first);
    const layout = (w: Map<string, number>) => layoutOf([...w].map(([id, weight]) => ({ id: `${id}.example.com`, weight })));
    expect(movementPlan(layout(first), layout(drifted)).moved).toBe(0);
    const grown = quantiseWeights(capacity([['a', 150], ['b', 200], ['c', 300]]), first);
    expect(grown.get('a')).toBeGreaterThan(first.get('a')!);
    expect(grown.get('c')).toBe(first.get('c')); // 300/650 vs 300/600: -7.7 %, held
  });
});

describe('layoutProblem', () => {
  it('refuses what the spec does not define', () => {
    const ok = layoutOf([{ id: 'a.example.com', weight: 1 }]);
    expect(layoutProblem(ok)).toBeNull();
    expect(layoutProblem({ ...ok, seed: -1 })).toMatch(/seed/);
    expect(layoutProblem({ ...ok, tableBits: 21 })).toMatch(/tableBits/);
    expect(layoutProblem({ ...ok, loadBoundPermille: 0 })).toMatch(/loadBoundPermille/);
    expect(layoutProblem({ ...ok, shards: [{ id: 'a', weight: 1.5 }] })).toMatch(/weight/);
    expect(layoutProblem({ ...ok, shards: [{ id: 'a', weight: 1 }, { id: 'a', weight: 2 }] })).toMatch(/duplicate/);
    expect(layoutProblem({ ...ok, shards: [{ id: 'ü', weight: 1 }] })).toMatch(/ASCII/);
    expect(() => buildTable({ ...ok, tableBits: 4 })).toThrow(/invalid hash layout/);
  });

  it('maps nothing in a layout with no shards', () => {
    expect(new ShardMap(layoutOf([])).shardFor('k')).toBeUndefined();
  });
});

describe('outranks: the slot comparison', () => {
  const score = (h: number, w: number) => slotScore(h, w);
  const exactlyAbove = (ha: number, wa: number, hb: number, wb: number) =>
    ((2n * BigInt(ha) + 1n) ** BigInt(wb) << BigInt(33 * wa)) > ((2n * BigInt(hb) + 1n) ** BigInt(wa) << BigInt(33 * wb));

  it('agrees with exact integer comparison, including near-ties the floats cannot separate', () => {
    // wa = 1, wb = 2: u_b ≈ u_a², the nearest 32-bit h_b on either side of the tie.
    for (const ha of [1, 12345, 2 ** 31, 4294967290]) {
      const ua = (2 * ha + 1) / 2 ** 33;
      const tie = Math.round((ua * ua * 2 ** 33 - 1) / 2);
      for (const hb of [tie - 1, tie, tie + 1].filter((h) => h >= 0 && h < 2 ** 32)) {
        const a = outranks(ha, 1, score(ha, 1), 'a', hb, 2, score(hb, 2), 'b');
        expect(a).toBe(exactlyAbove(ha, 1, hb, 2));
        expect(outranks(hb, 2, score(hb, 2), 'b', ha, 1, score(ha, 1), 'a')).toBe(!a);
      }
    }
  });

  it('breaks an exact tie by the smaller id', () => {
    expect(outranks(99, 3, score(99, 3), 'a', 99, 3, score(99, 3), 'b')).toBe(true);
    expect(outranks(99, 3, score(99, 3), 'b', 99, 3, score(99, 3), 'a')).toBe(false);
  });
});
