import fc from 'fast-check';
import { denseSeriesOfBuckets } from './stored-buckets';

const H = Date.UTC(2026, 0, 1);
const MIN = 60_000;

describe('denseSeriesOfBuckets', () => {
  it('puts minute buckets on a minute grid with zeros where none was stored', () => {
    const s = denseSeriesOfBuckets([
      { startMs: H, seconds: 60, requests: 5 },
      { startMs: H + 3 * MIN, seconds: 60, requests: 7 },
    ]);
    expect(s).toEqual({ timestamps: [0, 1, 2, 3].map((i) => H + i * MIN), values: [5, 0, 0, 7] });
  });

  it('spreads an hourly bucket older than the roll-up age evenly over its minutes, then goes on with the minute buckets', () => {
    const s = denseSeriesOfBuckets([
      { startMs: H, seconds: 3600, requests: 120 },
      { startMs: H + 60 * MIN, seconds: 60, requests: 9 },
    ]);
    expect(s.timestamps).toHaveLength(61);
    expect(s.values.slice(0, 60)).toEqual(new Array(60).fill(2));
    expect(s.values[60]).toBe(9);
  });

  it('keeps the grid hourly when only hourly buckets remain', () => {
    const s = denseSeriesOfBuckets([
      { startMs: H, seconds: 3600, requests: 10 },
      { startMs: H + 120 * MIN, seconds: 3600, requests: 30 },
    ]);
    expect(s).toEqual({ timestamps: [H, H + 60 * MIN, H + 120 * MIN], values: [10, 0, 30] });
  });

  it('property: the total of every series is the total of its buckets, on a grid of the finest width', () => {
    const bucket = fc.record({ hour: fc.integer({ min: 0, max: 200 }), minute: fc.integer({ min: 0, max: 59 }), hourly: fc.boolean(), requests: fc.integer({ min: 0, max: 1_000_000 }) });
    fc.assert(
      fc.property(fc.array(bucket, { minLength: 1, maxLength: 60 }), (raw) => {
        // Hourly buckets before minute ones, as the history stores them (no two on one start).
        const hourly = [...new Set(raw.filter((b) => b.hourly).map((b) => b.hour))].map((hour) => ({ startMs: H + hour * 60 * MIN, seconds: 3600, requests: raw.find((b) => b.hourly && b.hour === hour)!.requests }));
        const boundary = hourly.length ? Math.max(...hourly.map((b) => b.startMs)) + 60 * MIN : H;
        const seen = new Set<number>();
        const minutes = raw
          .filter((b) => !b.hourly)
          .map((b) => ({ startMs: boundary + (b.hour * 60 + b.minute) * MIN, seconds: 60, requests: b.requests }))
          .filter((b) => !seen.has(b.startMs) && seen.add(b.startMs));
        const buckets = [...hourly, ...minutes].sort((a, b) => a.startMs - b.startMs);
        const s = denseSeriesOfBuckets(buckets);
        const total = s.values.reduce((a, v) => a + v, 0);
        const expected = buckets.reduce((a, b) => a + b.requests, 0);
        expect(Math.abs(total - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, expected));
        const step = minutes.length ? MIN : 60 * MIN;
        expect(s.timestamps.every((t, i) => t === buckets[0].startMs + i * step)).toBe(true);
      }),
    );
  });
});
