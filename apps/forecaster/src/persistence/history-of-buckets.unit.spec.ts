import { denseSeriesOfBuckets } from '@shardcast/forecasting';
import { historyOfBuckets } from './forecaster-store';

/** What the row-per-bucket read computed from the same buckets (the reference). */
function rowByRow(rows: Array<{ t: number; seconds: number; requests: number; bytes: number; latency: number }>) {
  let requests = 0;
  let bytes = 0;
  let latencyWeighted = 0;
  for (const r of rows) {
    requests += Number(r.requests);
    bytes += Number(r.bytes);
    latencyWeighted += Number(r.latency) * Number(r.requests);
  }
  const series = denseSeriesOfBuckets(rows.map((r) => ({ startMs: r.t, seconds: r.seconds, requests: r.requests })));
  return { ...series, requests, bytes, latencyMs: requests > 0 ? latencyWeighted / requests : 0 };
}

describe('historyOfBuckets (a history read as one row of text)', () => {
  it('gives exactly what the row-per-bucket read gave: the dense series, the totals and the request-weighted latency', () => {
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const start = Date.UTC(2026, 10, 1);
    // Three rolled-up hours, then minute buckets with gaps; float latencies of every form float8 prints.
    const rows = [
      ...[0, 1, 2].map((h) => ({ t: start + h * 3_600_000, seconds: 3600, requests: Math.floor(rand() * 1e6), bytes: Math.floor(rand() * 1e12), latency: 12.5 })),
      ...Array.from({ length: 500 }, (_, i) => ({ t: start + 3 * 3_600_000 + i * 60_000, seconds: 60, requests: Math.floor(rand() * 1000), bytes: Math.floor(rand() * 1e9), latency: [40, 0.1, 1e-7, 123456.789, 2.5e21][i % 5] * rand() }))
        .filter(() => rand() > 0.1),
    ];
    const text = rows.map((r) => [r.t, r.seconds, r.requests, r.bytes, r.latency].join(':')).join(';');
    expect(historyOfBuckets(text)).toEqual(rowByRow(rows));
  });

  it('reads no history as an empty series', () => {
    expect(historyOfBuckets(null)).toEqual({ timestamps: [], values: [], requests: 0, bytes: 0, latencyMs: 0 });
  });
});
