import fc from 'fast-check';
import type { RankedRegion, RegionRanking } from './ranking';
import { checkShardSetPolicy, DEFAULT_SHARD_SET_POLICY, EMPTY_SHARD_SET, nextShardSet, servingRegions, ShardSet } from './shard-set';

const MIN = 60_000;
const T0 = Date.parse('2026-12-02T12:00:00Z');
const { margin, dwellMs, warmupMs, drainMs } = DEFAULT_SHARD_SET_POLICY;

/** A ranking from scores (sorted as rankRegions sorts: score, then id). */
function ranking(scores: Record<string, number>, count = 3, reservedNow = true): RegionRanking {
  const regions: RankedRegion[] = Object.entries(scores)
    .map(([region, score]) => ({ region, score, requestsPerSecond: score, reservedNow, closeness: 1 }))
    .sort((a, b) => b.score - a.score || (a.region < b.region ? -1 : 1));
  return { domain: 'app.example.com', tier: 'pro', count, regions };
}
const serving = (s: ShardSet) => servingRegions(s).sort();
const stateOf = (s: ShardSet, region: string) => s.members.find((m) => m.region === region)?.state;

const BASE = { a: 1000, b: 800, c: 600, d: 500, e: 100 };

describe('nextShardSet', () => {
  it('starts with the top N, warming, then active after the warm-up', () => {
    const first = nextShardSet(null, ranking(BASE), T0);
    expect(serving(first)).toEqual(['a', 'b', 'c']);
    expect(first.members.every((m) => m.state === 'warming')).toBe(true);
    expect(stateOf(nextShardSet(first, ranking(BASE), T0 + warmupMs - 1), 'a')).toBe('warming');
    expect(stateOf(nextShardSet(first, ranking(BASE), T0 + warmupMs), 'a')).toBe('active');
  });

  it('stays warming while a region added for a peak holds no capacity yet', () => {
    const first = nextShardSet(null, ranking(BASE, 3, false), T0);
    expect(stateOf(nextShardSet(first, ranking(BASE, 3, false), T0 + 2 * warmupMs), 'a')).toBe('warming');
  });

  it('replaces the weakest member only after a challenger beat it by the margin for the dwell time', () => {
    let set = nextShardSet(null, ranking(BASE), T0);
    const challenged = { ...BASE, d: 600 * (1 + margin) + 1 };
    set = nextShardSet(set, ranking(challenged), T0 + MIN);
    expect(set.pending).toEqual([{ region: 'd', sinceMs: T0 + MIN }]);
    set = nextShardSet(set, ranking(challenged), T0 + MIN + dwellMs - 1);
    expect(serving(set)).toEqual(['a', 'b', 'c']);
    set = nextShardSet(set, ranking(challenged), T0 + MIN + dwellMs);
    expect(serving(set)).toEqual(['a', 'b', 'd']);
    expect(stateOf(set, 'd')).toBe('warming');
    expect(stateOf(set, 'c')).toBe('draining');
    expect(set.pending).toEqual([]);
    // The drained member leaves after drainMs.
    const later = nextShardSet(set, ranking(challenged), T0 + MIN + dwellMs + drainMs);
    expect(later.members.map((m) => m.region)).toEqual(['a', 'b', 'd']);
  });

  it('restarts the dwell clock when a challenger stops beating the margin once', () => {
    let set = nextShardSet(null, ranking(BASE), T0);
    const challenged = { ...BASE, d: 800 };
    set = nextShardSet(set, ranking(challenged), T0 + MIN);
    set = nextShardSet(set, ranking(BASE), T0 + 5 * MIN);
    expect(set.pending).toEqual([]);
    set = nextShardSet(set, ranking(challenged), T0 + 6 * MIN);
    set = nextShardSet(set, ranking(challenged), T0 + MIN + dwellMs);
    expect(serving(set)).toEqual(['a', 'b', 'c']);
    set = nextShardSet(set, ranking(challenged), T0 + 6 * MIN + dwellMs);
    expect(serving(set)).toEqual(['a', 'b', 'd']);
  });

  it('drains a member whose reservation went to zero at once, and fills its place at once', () => {
    let set = nextShardSet(null, ranking(BASE), T0);
    const { b: _gone, ...rest } = BASE;
    set = nextShardSet(set, ranking(rest), T0 + MIN);
    expect(serving(set)).toEqual(['a', 'c', 'd']);
    expect(stateOf(set, 'b')).toBe('draining');
  });

  it('follows the tier\'s count at once, both ways', () => {
    let set = nextShardSet(null, ranking(BASE, 3), T0);
    set = nextShardSet(set, ranking(BASE, 5), T0 + MIN);
    expect(serving(set)).toEqual(['a', 'b', 'c', 'd', 'e']);
    set = nextShardSet(set, ranking(BASE, 1), T0 + 2 * MIN);
    expect(serving(set)).toEqual(['a']);
    expect(set.members.filter((m) => m.state === 'draining').map((m) => m.region)).toEqual(['b', 'c', 'd', 'e']);
  });

  it('takes a draining region back when it ranks again', () => {
    let set = nextShardSet(null, ranking({ a: 10, b: 5 }, 2), T0);
    set = nextShardSet(set, ranking({ a: 10 }, 2), T0 + MIN);
    expect(stateOf(set, 'b')).toBe('draining');
    set = nextShardSet(set, ranking({ a: 10, b: 5 }, 2), T0 + 2 * MIN);
    expect(serving(set)).toEqual(['a', 'b']);
    expect(set.members).toHaveLength(2);
  });

  it('an empty ranking (a deregistered domain) drains every member', () => {
    const set = nextShardSet(nextShardSet(null, ranking(BASE), T0), ranking({}), T0 + MIN);
    expect(serving(set)).toEqual([]);
    expect(set.members.every((m) => m.state === 'draining')).toBe(true);
    expect(nextShardSet(set, ranking({}), T0 + MIN + drainMs)).toEqual(EMPTY_SHARD_SET);
  });

  it('refuses a policy no configuration should produce', () => {
    expect(() => checkShardSetPolicy({ ...DEFAULT_SHARD_SET_POLICY, margin: -0.1 })).toThrow(RangeError);
    expect(() => checkShardSetPolicy({ ...DEFAULT_SHARD_SET_POLICY, dwellMs: Number.NaN })).toThrow(RangeError);
    expect(() => nextShardSet(null, ranking(BASE), T0, { ...DEFAULT_SHARD_SET_POLICY, drainMs: Infinity })).toThrow(RangeError);
  });

  it('never changes the set on noise within the margin (property)', () => {
    // Each score moves by a factor within √(1 + margin) either way: no challenger can beat a member by more than the margin.
    const bound = Math.sqrt(1 + margin) * (1 - 1e-9);
    const factor = fc.double({ min: 1 / bound, max: bound, noNaN: true });
    const step = fc.record({ dtMs: fc.integer({ min: 0, max: 2 * dwellMs }), noise: fc.array(factor, { minLength: 5, maxLength: 5 }) });
    const base = fc.uniqueArray(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 5, maxLength: 5 });
    fc.assert(
      fc.property(base, fc.integer({ min: 1, max: 4 }), fc.array(step, { minLength: 1, maxLength: 30 }), (scores, count, steps) => {
        const names = ['r1', 'r2', 'r3', 'r4', 'r5'];
        const of = (noise: number[]) => ranking(Object.fromEntries(names.map((n, i) => [n, scores[i] * noise[i]])), count);
        let now = T0;
        let set = nextShardSet(null, of([1, 1, 1, 1, 1]), now);
        const initial = serving(set);
        for (const s of steps) {
          now += s.dtMs;
          set = nextShardSet(set, of(s.noise), now);
          expect(serving(set)).toEqual(initial);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('changes after the dwell time when a challenger keeps beating the margin (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1 + margin + 1e-6, max: 10, noNaN: true }),
        fc.array(fc.integer({ min: 1, max: 5 * MIN }), { minLength: 1, maxLength: 20 }),
        (ratio, gaps) => {
          let now = T0;
          let set = nextShardSet(null, ranking(BASE), now);
          const challenged = ranking({ ...BASE, e: BASE.c * ratio });
          const start = now + gaps[0];
          for (const gap of gaps) {
            now += gap;
            set = nextShardSet(set, challenged, now);
            expect(servingRegions(set).includes('e')).toBe(now - start >= dwellMs);
          }
          // Whatever the steps, once the dwell has passed it is in.
          set = nextShardSet(set, challenged, Math.max(now, start + dwellMs));
          expect(serving(set)).toEqual(['a', 'b', 'e'].sort());
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is deterministic and keeps at most the tier\'s count serving (property)', () => {
    const scores = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.double({ min: 0, max: 1e6, noNaN: true }));
    fc.assert(
      fc.property(fc.array(fc.record({ scores, dtMs: fc.integer({ min: 0, max: dwellMs }), count: fc.integer({ min: 0, max: 5 }) }), { maxLength: 25 }), (steps) => {
        let set: ShardSet | null = null;
        let now = T0;
        for (const s of steps) {
          now += s.dtMs;
          const r = ranking(s.scores, s.count);
          const next = nextShardSet(set, r, now);
          expect(nextShardSet(set, r, now)).toEqual(next);
          expect(servingRegions(next).length).toBe(Math.min(s.count, r.regions.length));
          expect(new Set(next.members.map((m) => m.region)).size).toBe(next.members.length);
          set = next;
        }
      }),
      { numRuns: 200 },
    );
  });
});
