/**
 * Partitions, regions and comparisons shared by the tests of aggregatePartitionMessages here and
 * of its native implementation (libs/ingest-native), which is held to the same deltas.
 */
import fc from 'fast-check';
import { exactBytes, serializeLatencySketch } from '../src/demand-bucket';
import { AggregationPolicy, PartitionDelta, PartitionMessage, PartitionProgress } from '../src/partition-aggregator';
import { Region } from '../src/region-catalog';
import { RegionLocator } from '../src/region-locator';

const REGIONS: Region[] = [
  { id: 'eu-central-1', name: 'Frankfurt', lat: 50.11, lon: 8.71 },
  { id: 'ap-northeast-1', name: 'Tokyo', lat: 35.69, lon: 139.77 },
  { id: 'us-east-1', name: 'N. Virginia', lat: 37.26, lon: -79.37 },
];
const POPS = new Map([
  ['fra1', { lat: 50.03, lon: 8.57 }],
  ['nrt1', { lat: 35.77, lon: 140.39 }],
]);
export const locator = () => new RegionLocator(REGIONS, POPS);
export const POLICY: AggregationPolicy = { allowedLatenessMs: 120_000, maxFutureSkewMs: 60_000 };
export const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
export const NOW = T0 + 5 * 60_000;
export const START: PartitionProgress = { nextOffset: 0n, maxEventTimeMs: -Infinity };

export const FRANKFURT = { lat: 50.1, lon: 8.7 };
export const TOKYO = { lat: 35.7, lon: 139.7 };

export function rec(ts: number, patch: Record<string, unknown> = {}) {
  return { domain: 'app.example.com', timestamp: ts, client: FRANKFURT, status: 200, latencyMs: 10, bytes: 100, ...patch };
}
export const msg = (offset: number, value: unknown): PartitionMessage => ({
  offset: BigInt(offset),
  value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value)),
});
export const msgs = (values: unknown[], from = 0) => values.map((v, i) => msg(from + i, v));

/** As the librdkafka consumer hands them over: the values back to back in one buffer (a null one too, empty, with packNulls). */
export function inOneBuffer(messages: readonly PartitionMessage[], packNulls = false): PartitionMessage[] {
  const packed = Buffer.concat(messages.map((m) => m.value ?? Buffer.alloc(0)));
  let at = 0;
  return messages.map((m) => (m.value === null && !packNulls ? m : { ...m, valueBuffer: packed, valueStart: at, valueEnd: (at += m.value?.length ?? 0) }));
}

/** A delta's content in comparable form: bucket totals by id, rejections without the shared bytes. */
export function totalsOf(deltas: PartitionDelta[]) {
  const buckets = new Map<string, { requests: number; errors: number; bytes: bigint; latencyMaxMs: number; sketchCount: number }>();
  for (const d of deltas) {
    for (const [id, { key, bucket }] of d.buckets) {
      expect(id).toBe(`${key.domain}\u0000${key.region}\u0000${key.bucketStartMs}`);
      const t = buckets.get(id) ?? { requests: 0, errors: 0, bytes: 0n, latencyMaxMs: 0, sketchCount: 0 };
      t.requests += bucket.requests;
      t.errors += bucket.errors;
      t.bytes += exactBytes(bucket); // exact past 2^53
      t.latencyMaxMs = Math.max(t.latencyMaxMs, bucket.latencyMaxMs);
      t.sketchCount += bucket.latency.count;
      buckets.set(id, t);
    }
  }
  return {
    buckets: [...buckets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    rejections: deltas.flatMap((d) => d.rejections.map((r) => ({ offset: r.offset, index: r.index, code: r.code, reason: r.reason }))),
    accepted: deltas.reduce((n, d) => n + d.accepted, 0),
    skipped: deltas.reduce((n, d) => n + d.skippedMessages, 0),
  };
}
/** Each bucket's sketch as stored and read: serialised bins, count, quantiles, min and max. */
export const sketchesOf = (d: PartitionDelta) =>
  [...d.buckets]
    .map(([id, { bucket }]) => {
      const s = bucket.latency as unknown as { count: number; min: number; max: number };
      return [id, serializeLatencySketch(bucket).toString('hex'), s.count, s.min, s.max, ...[0.01, 0.5, 0.9, 0.99].map((q) => bucket.latency.getValueAtQuantile(q))];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));

// ── properties over generated partitions ──────────────────────────────────────────────────
const recordArb = fc.record({
  domain: fc.constantFrom('app.example.com', 'shop.example.org', 'APP.example.com.'),
  timestamp: fc.integer({ min: T0 - 10 * 60_000, max: NOW + 3 * 60_000 }),
  client: fc.oneof(fc.constantFrom(FRANKFURT, TOKYO, { pop: 'fra1' }, { pop: 'nrt1' }, { pop: 'unknown' }), fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }) })),
  status: fc.constantFrom(200, 204, 404, 500, 503, 42),
  latencyMs: fc.double({ min: 0, max: 10_000, noNaN: true }),
  bytes: fc.integer({ min: 0, max: 1_000_000 }),
});
const valueArb = fc.oneof(
  { weight: 5, arbitrary: recordArb },
  { weight: 3, arbitrary: fc.array(recordArb, { minLength: 1, maxLength: 5 }).map((records) => ({ records })) },
  { weight: 1, arbitrary: fc.constantFrom(null, Buffer.from('{oops'), { records: [] }, 17) },
);
export const partitionArb = fc.record({
  values: fc.array(valueArb, { maxLength: 30 }),
  firstOffset: fc.integer({ min: 0, max: 1000 }),
  alreadyApplied: fc.integer({ min: 0, max: 5 }),
  storedMax: fc.oneof(fc.constant(-Infinity), fc.integer({ min: T0 - 5 * 60_000, max: T0 + 5 * 60_000 })),
});
