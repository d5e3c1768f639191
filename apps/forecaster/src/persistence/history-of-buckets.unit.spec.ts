import { denseSeriesOfBuckets } from '@shardcast/forecasting';
import { historyOfBuckets } from './forecaster-store';

describe('historyOfBuckets (a history read as one row of text)', () => {
  it('gives the dense series the row-per-bucket read gave: rolled-up hours spread, absent minutes zero', () => {
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const start = Date.UTC(2026, 10, 1);
    const buckets = [
      ...[0, 1, 2].map((h) => ({ startMs: start + h * 3_600_000, seconds: 3600, requests: Math.floor(rand() * 1e12) })),
      ...Array.from({ length: 500 }, (_, i) => ({ startMs: start + 3 * 3_600_000 + i * 60_000, seconds: 60, requests: Math.floor(rand() * 1000) })).filter(() => rand() > 0.1),
    ];
    const text = buckets.map((b) => [b.startMs, b.seconds, b.requests].join(':')).join(';');
    expect(historyOfBuckets(text)).toEqual(denseSeriesOfBuckets(buckets));
  });

  it('reads no history as an empty series', () => {
    expect(historyOfBuckets(null)).toEqual({ timestamps: [], values: [] });
    expect(historyOfBuckets('')).toEqual({ timestamps: [], values: [] });
  });
});
