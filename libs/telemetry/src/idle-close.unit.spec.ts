import fc from 'fast-check';
import { EndOffsetWatch, idleCloseVerdict, IdlePartition } from './idle-close';

const policy = { idleMs: 60_000, backlogIdleMs: 600_000 };
const quiet = (p: Partial<IdlePartition>): IdlePartition => ({ idleForMs: 60_000, nextOffset: 100n, endOffset: 100n, endUnchangedForMs: 60_000, ...p });

describe('idleCloseVerdict', () => {
  it('closes a quiet partition that has read everything the broker holds', () => {
    expect(idleCloseVerdict(quiet({}), policy)).toEqual({ close: true, reason: 'caught-up' });
  });

  it('keeps a partition that received something within the idle window', () => {
    expect(idleCloseVerdict(quiet({ idleForMs: 59_999 }), policy)).toEqual({ close: false, reason: 'active' });
  });

  it('keeps a quiet partition the broker holds records for (a starved process): they would be late', () => {
    expect(idleCloseVerdict(quiet({ endOffset: 14_334n }), policy)).toEqual({ close: false, reason: 'behind-end' });
    // Still behind after long quiet, but records keep arriving at the broker: not a stuck tail.
    expect(idleCloseVerdict(quiet({ endOffset: 14_334n, idleForMs: 900_000, endUnchangedForMs: 5_000 }), policy)).toEqual({ close: false, reason: 'behind-end' });
  });

  it('keeps a partition whose end offset is not known', () => {
    expect(idleCloseVerdict(quiet({ endOffset: undefined, idleForMs: 10_000_000 }), policy)).toEqual({ close: false, reason: 'end-unknown' });
  });

  it('closes behind an end that has not moved for the backlog window (offsets never delivered: commit markers)', () => {
    expect(idleCloseVerdict(quiet({ endOffset: 101n, idleForMs: 600_000, endUnchangedForMs: 600_000 }), policy)).toEqual({ close: true, reason: 'end-never-delivered' });
    expect(idleCloseVerdict(quiet({ endOffset: 101n, idleForMs: 600_000, endUnchangedForMs: 599_999 }), policy).close).toBe(false);
    expect(idleCloseVerdict(quiet({ endOffset: 101n, idleForMs: 599_999, endUnchangedForMs: 600_000 }), policy).close).toBe(false);
  });

  it('never closes a partition behind the end before the backlog window, nor one within the idle window', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 2_000_000 }),
        fc.bigInt({ min: 0n, max: 1_000n }),
        fc.option(fc.bigInt({ min: 0n, max: 1_000n }), { nil: undefined }),
        fc.nat({ max: 2_000_000 }),
        (idleForMs, nextOffset, endOffset, endUnchangedForMs) => {
          const { close } = idleCloseVerdict({ idleForMs, nextOffset, endOffset, endUnchangedForMs }, policy);
          if (idleForMs < policy.idleMs || endOffset === undefined) expect(close).toBe(false);
          else if (endOffset <= nextOffset) expect(close).toBe(true);
          else expect(close).toBe(idleForMs >= policy.backlogIdleMs && endUnchangedForMs >= policy.backlogIdleMs);
        },
      ),
    );
  });
});

describe('EndOffsetWatch', () => {
  it('says how long each end offset has stayed what it is', () => {
    const watch = new EndOffsetWatch();
    expect(watch.endOf('t:0', 0)).toEqual({ endOffset: undefined, endUnchangedForMs: 0 });
    watch.observe(new Map([['t:0', 10n], ['t:1', 5n]]), 1_000);
    watch.observe(new Map([['t:0', 10n], ['t:1', 7n]]), 4_000);
    expect(watch.endOf('t:0', 6_000)).toEqual({ endOffset: 10n, endUnchangedForMs: 5_000 });
    expect(watch.endOf('t:1', 6_000)).toEqual({ endOffset: 7n, endUnchangedForMs: 2_000 });
    // A partition missing from a reading keeps its last one.
    watch.observe(new Map([['t:0', 12n]]), 7_000);
    expect(watch.endOf('t:0', 8_000)).toEqual({ endOffset: 12n, endUnchangedForMs: 1_000 });
    expect(watch.endOf('t:1', 8_000)).toEqual({ endOffset: 7n, endUnchangedForMs: 4_000 });
  });
});
