/**
 * Time-partitioned demand history (docs/decisions/0023-bounded-demand-history.md): minute buckets
 * in one PostgreSQL range partition per UTC day, rolled up into an hourly table (also one
 * partition per day) after `rollUpAfterDays`, both expired after `retainDays`. This file decides
 * what to do; HistoryPartitions does it.
 */

export const DAY_MS = 86_400_000;

export interface HistoryRetention {
  /** Days of minute partitions created ahead of the wall clock (inserts of live data never wait for one). */
  createAheadDays: number;
  /** A day's minute buckets become hourly ones once the whole day is this much older than the history's newest day. */
  rollUpAfterDays: number;
  /** A day is dropped (minute or hourly) once the whole day is this much older than the history's newest day. */
  retainDays: number;
}

/** The partitions of one history as they are: each identified by the UTC day it holds (its start, ms). */
export interface HistoryState {
  /** The wall clock. */
  nowMs: number;
  /** Days with a minute partition attached. */
  minuteDays: readonly number[];
  /** Those of minuteDays whose partition holds no row. */
  emptyMinuteDays: readonly number[];
  /** Days whose minute partition was detached for a roll-up that has not finished (a crash between its two steps). */
  detachedDays: readonly number[];
  hourlyDays: readonly number[];
  /** The newest day with any bucket, minute or hourly (null: none). */
  newestDay: number | null;
}

export interface HistoryPlan {
  /** The day that ages are measured from (see historyReferenceDay). */
  referenceDay: number;
  /** Minute partitions to create (days, ascending). */
  create: number[];
  /** Detached minute days to finish rolling up: aggregate into hourly, then drop. */
  finishRollUps: number[];
  /** Minute days to roll up: detach, then as finishRollUps. */
  rollUp: number[];
  /** Minute days to drop without rolling up (older than the retention: their hours would be dropped at once). */
  dropMinute: number[];
  /**
   * Empty minute days past the roll-up age, by the history's clock or the wall clock (days made
   * ahead that no data reached): dropped like a roll-up (a row that came meanwhile is rolled up).
   */
  dropEmpty: number[];
  /** Detached minute days older than the retention: drop. */
  dropDetached: number[];
  /** Hourly days older than the retention. */
  dropHourly: number[];
}

/** The UTC day (its start, ms since the epoch) that holds `ms`. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** `20261202` for a day: the suffix of its partitions' names. */
export function daySuffix(day: number): string {
  return new Date(day).toISOString().slice(0, 10).replace(/-/g, '');
}

/** The day a partition name's `yyyymmdd` suffix stands for (null: not a day partition's name). */
export function dayOfSuffix(name: string): number | null {
  const m = /_(\d{4})(\d{2})(\d{2})$/.exec(name);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return daySuffix(ms) === `${m[1]}${m[2]}${m[3]}` ? ms : null;
}

/**
 * The day ages are measured from: the newest day with data (event time, as the watermark is:
 * a replay of old traces keeps its history), but never past tomorrow by the wall clock, so one
 * stray future bucket cannot expire the rest.
 */
export function historyReferenceDay(state: Pick<HistoryState, 'nowMs' | 'newestDay'>): number {
  const cap = dayOf(state.nowMs) + DAY_MS;
  return state.newestDay === null ? dayOf(state.nowMs) : Math.min(state.newestDay, cap);
}

/** The validated retention: a roll-up before the end of retention, and whole days. */
export function checkRetention(r: HistoryRetention): HistoryRetention {
  for (const [name, v] of Object.entries(r)) if (!Number.isInteger(v) || v < 0) throw new Error(`history retention ${name} must be a whole number of days ≥ 0, got ${v}`);
  if (r.rollUpAfterDays < 1) throw new Error(`history retention rollUpAfterDays must be ≥ 1 (the current day is still being written), got ${r.rollUpAfterDays}`);
  if (r.retainDays <= r.rollUpAfterDays) throw new Error(`history retention retainDays (${r.retainDays}) must exceed rollUpAfterDays (${r.rollUpAfterDays})`);
  return r;
}

/**
 * What one run of the job does to a history: create the minute partitions ahead, finish
 * interrupted roll-ups, roll up the days past `rollUpAfterDays`, drop the days past `retainDays`.
 * A day whose last instant is `age` days before the reference day's start is `age` days old.
 */
export function planHistory(state: HistoryState, retention: HistoryRetention): HistoryPlan {
  const r = checkRetention(retention);
  const referenceDay = historyReferenceDay(state);
  // A day is past an age when it ends at or before the reference day minus that age.
  const past = (day: number, days: number) => day + DAY_MS <= referenceDay - days * DAY_MS;
  const minute = new Set(state.minuteDays);
  const today = dayOf(state.nowMs);
  const create: number[] = [];
  for (let d = today; d <= today + r.createAheadDays * DAY_MS; d += DAY_MS) if (!minute.has(d)) create.push(d);
  const ascending = (days: readonly number[]) => [...new Set(days)].sort((a, b) => a - b);
  const minuteDays = ascending(state.minuteDays);
  const empty = new Set(state.emptyMinuteDays);
  const detached = ascending(state.detachedDays);
  const expired = (d: number) => past(d, r.retainDays);
  const staleEmpty = (d: number) => empty.has(d) && !expired(d) && (past(d, r.rollUpAfterDays) || d + DAY_MS <= today - r.rollUpAfterDays * DAY_MS);
  return {
    referenceDay,
    create,
    finishRollUps: detached.filter((d) => !expired(d)),
    rollUp: minuteDays.filter((d) => past(d, r.rollUpAfterDays) && !expired(d) && !empty.has(d)),
    dropMinute: minuteDays.filter(expired),
    dropEmpty: minuteDays.filter(staleEmpty),
    dropDetached: detached.filter((d) => past(d, r.retainDays)),
    dropHourly: ascending(state.hourlyDays).filter((d) => past(d, r.retainDays)),
  };
}
