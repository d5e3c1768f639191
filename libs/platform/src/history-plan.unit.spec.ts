import fc from 'fast-check';
import { DAY_MS, dayOf, dayOfSuffix, daySuffix, HistoryRetention, HistoryState, planHistory } from './history-plan';

const D = Date.UTC(2026, 11, 2); // a day's start
const retention: HistoryRetention = { createAheadDays: 2, rollUpAfterDays: 7, retainDays: 90 };
const days = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => D + (from + i) * DAY_MS);
const state = (s: Partial<HistoryState>): HistoryState => ({ nowMs: D + 3_600_000, minuteDays: [], emptyMinuteDays: [], detachedDays: [], hourlyDays: [], newestDay: D, ...s });

describe('planHistory', () => {
  it('creates today and the days ahead that are missing', () => {
    expect(planHistory(state({ minuteDays: [D + DAY_MS] }), retention).create).toEqual([D, D + 2 * DAY_MS]);
  });

  it('rolls up a day once it ended rollUpAfterDays before the newest day, drops it after retainDays', () => {
    const plan = planHistory(state({ minuteDays: days(-100, 0), hourlyDays: days(-100, -8) }), retention);
    // D-8 ends at D-7: 7 days before D. D-7 ends at D-6: not yet.
    expect(plan.rollUp).toEqual(days(-90, -8));
    expect(plan.dropMinute).toEqual(days(-100, -91));
    expect(plan.dropHourly).toEqual(days(-100, -91));
  });

  it('measures ages from the newest day with data, not the wall clock (a replay of old traces keeps its history)', () => {
    const old = Date.UTC(2014, 3, 10);
    const plan = planHistory(state({ minuteDays: [old - DAY_MS, old], newestDay: old }), retention);
    expect([plan.referenceDay, plan.rollUp, plan.dropMinute]).toEqual([old, [], []]);
  });

  it('never measures from past tomorrow by the wall clock: a stray future bucket expires nothing', () => {
    const plan = planHistory(state({ minuteDays: days(-6, 0), newestDay: D + 400 * DAY_MS }), retention);
    expect(plan.referenceDay).toBe(D + DAY_MS);
    expect(plan.rollUp).toEqual([]);
  });

  it('drops empty days past the roll-up age, by the wall clock too (days made ahead that no data reached)', () => {
    const old = Date.UTC(2014, 3, 10);
    const ahead = days(-9, -5);
    const plan = planHistory(state({ minuteDays: [old, ...ahead], emptyMinuteDays: ahead, newestDay: old }), retention);
    expect([plan.dropEmpty, plan.rollUp, plan.dropMinute]).toEqual([days(-9, -8), [], []]);
  });

  it('finishes a roll-up interrupted after the detach, or drops it when it has expired meanwhile', () => {
    const plan = planHistory(state({ detachedDays: [D - 100 * DAY_MS, D - 10 * DAY_MS] }), retention);
    expect([plan.finishRollUps, plan.dropDetached]).toEqual([[D - 10 * DAY_MS], [D - 100 * DAY_MS]]);
  });

  it('refuses a retention that drops before it rolls up', () => {
    expect(() => planHistory(state({}), { ...retention, retainDays: 7 })).toThrow(/retainDays \(7\) must exceed rollUpAfterDays \(7\)/);
    expect(() => planHistory(state({}), { ...retention, rollUpAfterDays: 0 })).toThrow(/rollUpAfterDays must be ≥ 1/);
  });

  it('names partitions by their UTC day and reads the day back', () => {
    expect(daySuffix(D)).toBe('20261202');
    expect(dayOfSuffix('demand_buckets_hourly_20261202')).toBe(D);
    expect(dayOfSuffix('demand_buckets_20261332')).toBeNull();
    expect(dayOfSuffix('demand_buckets')).toBeNull();
  });

  const arbitraryState = fc.record({
    now: fc.integer({ min: 0, max: 400 }),
    newest: fc.option(fc.integer({ min: -200, max: 500 }), { nil: null }),
    minute: fc.uniqueArray(fc.integer({ min: -300, max: 400 }), { maxLength: 40 }),
    emptyShare: fc.integer({ min: 0, max: 3 }),
    detached: fc.uniqueArray(fc.integer({ min: -300, max: 400 }), { maxLength: 5 }),
    hourly: fc.uniqueArray(fc.integer({ min: -300, max: 400 }), { maxLength: 40 }),
    rollUp: fc.integer({ min: 1, max: 30 }),
    extra: fc.integer({ min: 1, max: 100 }),
    ahead: fc.integer({ min: 0, max: 5 }),
  });
  const toState = (a: { now: number; newest: number | null; minute: number[]; emptyShare: number; detached: number[]; hourly: number[] }): HistoryState => ({
    nowMs: D + a.now * DAY_MS + 1234,
    newestDay: a.newest === null ? null : D + a.newest * DAY_MS,
    minuteDays: a.minute.map((d) => D + d * DAY_MS),
    emptyMinuteDays: a.minute.filter((d) => Math.abs(d) % 4 < a.emptyShare).map((d) => D + d * DAY_MS),
    detachedDays: a.detached.map((d) => D + d * DAY_MS),
    hourlyDays: a.hourly.map((d) => D + d * DAY_MS),
  });

  it('property: applying the plan leaves every kept day younger than the retention, and planning again does nothing', () => {
    fc.assert(
      fc.property(arbitraryState, (a) => {
        const r = { createAheadDays: a.ahead, rollUpAfterDays: a.rollUp, retainDays: a.rollUp + a.extra };
        const s = toState(a);
        const plan = planHistory(s, r);
        const without = (list: readonly number[], gone: number[]) => list.filter((d) => !gone.includes(d));
        const after: HistoryState = {
          ...s,
          minuteDays: [...without(s.minuteDays, [...plan.rollUp, ...plan.dropMinute, ...plan.dropEmpty]), ...plan.create],
          emptyMinuteDays: [...without(s.emptyMinuteDays, [...plan.dropEmpty, ...plan.dropMinute]), ...plan.create],
          detachedDays: [],
          hourlyDays: [...new Set([...without(s.hourlyDays, plan.dropHourly), ...plan.rollUp, ...plan.finishRollUps])],
        };
        const horizon = plan.referenceDay - r.retainDays * DAY_MS;
        // Kept: nothing that ended at or before the horizon; minute days only younger than the roll-up age.
        for (const d of [...after.minuteDays, ...after.hourlyDays]) expect(d + DAY_MS > horizon || plan.create.includes(d)).toBe(true);
        for (const d of after.minuteDays) expect(d + DAY_MS > plan.referenceDay - r.rollUpAfterDays * DAY_MS || plan.create.includes(d)).toBe(true);
        // Each day is handled once: rolled up, dropped, or finished; never two of them.
        const handled = [...plan.rollUp, ...plan.dropMinute, ...plan.dropEmpty];
        expect(new Set(handled).size).toBe(handled.length);
        expect(new Set([...plan.finishRollUps, ...plan.dropDetached]).size).toBe(plan.finishRollUps.length + plan.dropDetached.length);
        // Today and the days ahead exist afterwards.
        for (let d = dayOf(s.nowMs); d <= dayOf(s.nowMs) + r.createAheadDays * DAY_MS; d += DAY_MS) expect(after.minuteDays).toContain(d);
        const again = planHistory(after, r);
        expect([again.create, again.rollUp, again.dropMinute, again.dropEmpty, again.finishRollUps, again.dropDetached, again.dropHourly]).toEqual([[], [], [], [], [], [], []]);
      }),
      { numRuns: 500 },
    );
  });

  it('property: the partitions kept are bounded by the retention, however long the job runs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 30, max: 200 }), (rollUp, extra, ahead, runDays) => {
        const r = { createAheadDays: ahead, rollUpAfterDays: rollUp, retainDays: rollUp + extra };
        let s: HistoryState = state({ minuteDays: [], hourlyDays: [], newestDay: null, nowMs: D });
        for (let i = 0; i < runDays; i++) {
          const nowMs = D + i * DAY_MS + 7_200_000;
          const plan = planHistory({ ...s, nowMs, newestDay: dayOf(nowMs), emptyMinuteDays: [] }, r);
          s = {
            ...s,
            nowMs,
            newestDay: dayOf(nowMs),
            minuteDays: [...s.minuteDays.filter((d) => !plan.rollUp.includes(d) && !plan.dropMinute.includes(d) && !plan.dropEmpty.includes(d)), ...plan.create],
            hourlyDays: [...s.hourlyDays.filter((d) => !plan.dropHourly.includes(d)), ...plan.rollUp],
          };
          expect(s.minuteDays.length).toBeLessThanOrEqual(rollUp + ahead + 1);
          expect(s.hourlyDays.length).toBeLessThanOrEqual(extra);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('property: when no data comes at all, the days made ahead do not pile up', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 30, max: 200 }), (rollUp, ahead, runDays) => {
        const r = { createAheadDays: ahead, rollUpAfterDays: rollUp, retainDays: rollUp + 5 };
        let minuteDays: number[] = [];
        for (let i = 0; i < runDays; i++) {
          const plan = planHistory({ nowMs: D + i * DAY_MS, minuteDays, emptyMinuteDays: minuteDays, detachedDays: [], hourlyDays: [], newestDay: null }, r);
          minuteDays = [...minuteDays.filter((d) => !plan.dropEmpty.includes(d)), ...plan.create];
          expect(minuteDays.length).toBeLessThanOrEqual(rollUp + ahead + 1);
        }
      }),
      { numRuns: 100 },
    );
  });
});
