import type { DemandSeries } from './series';

/** A stored bucket of a series: its start, its width, its requests. */
export interface StoredBucket {
  startMs: number;
  seconds: number;
  requests: number;
}

/**
 * A series' stored buckets of mixed widths (minute buckets, and hourly ones older than the
 * history's roll-up age: docs/decisions/0023-bounded-demand-history.md) on one dense grid at the
 * finest width: a coarse bucket is spread evenly over the steps it covers (its total kept, the shape
 * inside it unknown, so flat), and a step no bucket covers is zero (ingest stores only buckets
 * that saw traffic). Buckets are in start order; their widths are multiples of the finest.
 */
export function denseSeriesOfBuckets(buckets: readonly StoredBucket[]): DemandSeries {
  if (buckets.length === 0) return { timestamps: [], values: [] };
  let stepMs = Infinity;
  for (const b of buckets) stepMs = Math.min(stepMs, b.seconds * 1000);
  const first = buckets[0].startMs;
  const last = buckets[buckets.length - 1];
  const steps = Math.round((last.startMs + last.seconds * 1000 - stepMs - first) / stepMs) + 1;
  const values = new Array<number>(steps).fill(0);
  for (const b of buckets) {
    const covers = Math.max(1, Math.round((b.seconds * 1000) / stepMs));
    const at = Math.round((b.startMs - first) / stepMs);
    for (let i = 0; i < covers && at + i < steps; i++) values[at + i] += b.requests / covers;
  }
  return { timestamps: values.map((_, i) => first + i * stepMs), values };
}
