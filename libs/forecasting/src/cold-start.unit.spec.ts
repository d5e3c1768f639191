import { coldStartOrigins, peakHourlyRate, wallClockToUtc } from './cold-start';
import { DAY_MS, HOUR_MS, MINUTE_MS } from './series';

const STEP = 5 * MINUTE_MS;

describe('the cold-start protocol', () => {
  it('takes the user base as the peak hourly mean rate: a five-minute burst is diluted, a busy hour is not', () => {
    // Two hours at 300 per step (1/s), then an hour at 600 per step (2/s), then a single step of 36,000 amid 300s.
    const values = Float64Array.from([...new Array(24).fill(300), ...new Array(12).fill(600), ...new Array(11).fill(300), 36_000, ...new Array(12).fill(300)]);
    const grid = { stepMs: STEP, values };
    // The burst's hour: (11 × 300 + 36,000) / 12 per step = 3,275 → 10.92/s beats the busy hour's 2/s.
    expect(peakHourlyRate(grid, 0, values.length)).toBeCloseTo(3275 / 300, 9);
    // Before the burst, the busy hour is the peak; a range shorter than an hour has none.
    expect(peakHourlyRate(grid, 0, 47)).toBeCloseTo(2, 9);
    expect(peakHourlyRate(grid, 0, 11)).toBeNaN();
    // The range is [from, to): the last step before `to` counts, `to` does not.
    expect(peakHourlyRate(grid, 36, 47)).toBeNaN();
    expect(peakHourlyRate(grid, 35, 47)).toBeCloseTo((600 + 11 * 300) / 12 / 300, 9);
    expect(peakHourlyRate(grid, 36, 48)).toBeCloseTo(3275 / 300, 9);
  });

  it('places origins every 3 h from the test part, each with 7 days before and 48 h after it', () => {
    const perDay = DAY_MS / STEP;
    const length = 14 * perDay;
    const origins = coldStartOrigins(length, STEP, 10 * perDay);
    expect(origins[0]).toBe(10 * perDay);
    expect(origins.at(-1)).toBe(12 * perDay);
    expect(origins).toHaveLength(17);
    for (let i = 1; i < origins.length; i++) expect(origins[i] - origins[i - 1]).toBe((3 * HOUR_MS) / STEP);
    // Asked to start before 7 days of data: starts at day 7.
    expect(coldStartOrigins(length, STEP, 0)[0]).toBe(7 * perDay);
    // Asked to start too late for 48 h after it: the latest origin that fits.
    expect(coldStartOrigins(length, STEP, 13 * perDay)).toEqual([12 * perDay]);
    // Shorter than 7 + 2 days: none.
    expect(coldStartOrigins(9 * perDay - 1, STEP, 0)).toEqual([]);
  });

  it('turns local wall-clock stamps into UTC across daylight-saving time', () => {
    // New York: EDT (UTC−4) in July, EST (UTC−5) in December.
    expect(wallClockToUtc(Date.UTC(2014, 6, 1, 0, 0), 'America/New_York')).toBe(Date.UTC(2014, 6, 1, 4, 0));
    expect(wallClockToUtc(Date.UTC(2014, 11, 1, 19, 30), 'America/New_York')).toBe(Date.UTC(2014, 11, 2, 0, 30));
    // Tokyo has no DST; UTC is unchanged.
    expect(wallClockToUtc(Date.UTC(2015, 2, 1, 9, 0), 'Asia/Tokyo')).toBe(Date.UTC(2015, 2, 1, 0, 0));
    expect(wallClockToUtc(Date.UTC(2015, 2, 1, 9, 0), 'UTC')).toBe(Date.UTC(2015, 2, 1, 9, 0));
  });
});
