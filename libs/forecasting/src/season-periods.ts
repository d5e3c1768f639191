import { DAY_MS } from './series';

/** Seasonal periods in steps for a step size; `undefined` where the step does not fit the season. */
export interface SeasonPeriods {
  /** Steps per day (1 for daily data, undefined for coarser steps). */
  daily?: number;
  /** Steps per week. */
  weekly?: number;
}

export function seasonPeriods(stepMs: number): SeasonPeriods {
  const perDay = DAY_MS / stepMs;
  if (perDay < 1) return {};
  const daily = Math.round(perDay);
  return { daily, weekly: 7 * daily };
}

/**
 * The period used to scale MASE and pick the default naive forecast: daily, or weekly for daily data
 * (docs/decisions/0006-forecast-selection-and-calibration.md).
 */
export function scalePeriod(stepMs: number): number {
  const { daily, weekly } = seasonPeriods(stepMs);
  if (daily && daily >= 2) return daily;
  return weekly ?? 1;
}
