import { DAY_MS, HOUR_MS, RegularSeries } from './series';

/**
 * The user base a registrant could state from its own traffic: the highest mean rate (per second)
 * over any hour of `grid.values[fromIndex, toIndex)`; NaN when the range holds less than an hour.
 * Hourly because the prior's shape is hourly (the user base sits at its peak), and a five-minute
 * burst is not what "expected peak requests/s" means.
 */
export function peakHourlyRate(grid: Pick<RegularSeries, 'stepMs' | 'values'>, fromIndex: number, toIndex: number): number {
  const k = Math.max(1, Math.round(HOUR_MS / grid.stepMs));
  const from = Math.max(0, fromIndex);
  const to = Math.min(grid.values.length, toIndex);
  if (to - from < k) return NaN;
  let sum = 0;
  for (let i = from; i < from + k; i++) sum += grid.values[i];
  let best = sum;
  for (let i = from + k; i < to; i++) {
    sum += grid.values[i] - grid.values[i - k];
    best = Math.max(best, sum);
  }
  return best / k / (grid.stepMs / 1000);
}

export interface ColdStartOriginOptions {
  /** Known data an origin needs before it (the user base's window). Default 7 days. */
  lookbackMs?: number;
  /** Data an origin needs after it: the longest history tried plus the day scored. Default 48 h. */
  afterMs?: number;
  /** Between origins. Default 3 h: eight registration times a day, so every hour of the day weighs alike. */
  spacingMs?: number;
}

/**
 * Grid indices at which a cold start is simulated, from `fromIndex` on (where the scored part of a
 * series begins), every `spacingMs` while `lookbackMs` of data lies before the origin and
 * `afterMs` after it. When none fits from `fromIndex`, the latest index that fits; none at all on a
 * series shorter than both. The rule reads the series' length only, never its values.
 */
export function coldStartOrigins(length: number, stepMs: number, fromIndex: number, options: ColdStartOriginOptions = {}): number[] {
  const before = Math.ceil((options.lookbackMs ?? 7 * DAY_MS) / stepMs);
  const after = Math.ceil((options.afterMs ?? 2 * DAY_MS) / stepMs);
  const spacing = Math.max(1, Math.round((options.spacingMs ?? 3 * HOUR_MS) / stepMs));
  const last = length - after;
  if (last < before) return [];
  const origins: number[] = [];
  for (let o = Math.max(fromIndex, before); o <= last; o += spacing) origins.push(o);
  return origins.length > 0 ? origins : [last];
}

/**
 * UTC epoch ms of a wall-clock time in an IANA `zone`, given as if it were UTC (how a CSV of local
 * times reads): ingest stamps in UTC, so a replayed series must be too. An hour skipped by a
 * daylight-saving change maps as the hour before it does.
 */
export function wallClockToUtc(stampMs: number, zone: string): number {
  const format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const offsetAt = (utcMs: number): number => {
    const p = Object.fromEntries(format.formatToParts(new Date(utcMs)).map((x) => [x.type, Number(x.value)]));
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(utcMs / 1000) * 1000;
  };
  return stampMs - offsetAt(stampMs - offsetAt(stampMs));
}
