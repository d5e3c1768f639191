import fc from 'fast-check';
import { MAX_RECORD_BYTES } from '@shardcast/contracts';
import {
  addRequest,
  byteTotalOfDecimal,
  byteTotalOfHighLow,
  bytesDecimal,
  DemandBucket,
  exactBytes,
  demandBucketFromCounts,
  latencySketchKeyMapping,
  deserializeLatencySketch,
  emptyDemandBucket,
  LATENCY_SKETCH_ACCURACY,
  latencySummary,
  mergeDemandBuckets,
  newLatencySketch,
  packLatencySketches,
  serializeLatencySketch,
} from './demand-bucket';
import { DDSketch } from '@datadog/sketches-js';

interface Req {
  status: number;
  latencyMs: number;
  bytes: number;
}

const latency = fc.double({ min: 0.01, max: 3_600_000, noNaN: true });
const req = fc.record({ status: fc.integer({ min: 100, max: 599 }), latencyMs: latency, bytes: fc.integer({ min: 0, max: 1e9 }) });
const reqs = fc.array(req, { maxLength: 200 });

function bucketOf(requests: readonly Req[]): DemandBucket {
  const b = emptyDemandBucket();
  for (const r of requests) addRequest(b, r.status, r.latencyMs, r.bytes);
  return b;
}

const merge = (a: DemandBucket, b: DemandBucket) => mergeDemandBuckets(mergeDemandBuckets(emptyDemandBucket(), a), b);
const QS = [0, 0.1, 0.25, 0.5, 0.9, 0.99, 1];

/** Everything a merge must preserve exactly (sketch bins are integer counts: order cannot matter). */
function summaryOf(b: DemandBucket) {
  return {
    requests: b.requests,
    errors: b.errors,
    bytes: b.bytes,
    latencyMaxMs: b.latencyMaxMs,
    sketchCount: b.latency.count,
    quantiles: QS.map((q) => (b.requests ? b.latency.getValueAtQuantile(q) : 0)),
  };
}

/** The exact lower quantile DDSketch approximates: the value of rank floor(q·(n−1)). */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

function expectRelativelyClose(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9 * Math.abs(expected));
}

/** What telemetry-aggregator.c counts for these requests: totals and the sketch's dense bins. */
function countedElsewhere(requests: readonly Req[]): DemandBucket {
  const { multiplier, offset, minPossible } = latencySketchKeyMapping();
  const keys = new Map<number, number>();
  let zeroCount = 0;
  for (const r of requests) {
    if (r.latencyMs > minPossible) {
      const key = Math.ceil(Math.log2(r.latencyMs) * multiplier) + offset;
      keys.set(key, (keys.get(key) ?? 0) + 1);
    } else zeroCount++;
  }
  const minKey = keys.size ? Math.min(...keys.keys()) : 0;
  const bins = new Float64Array(keys.size ? Math.max(...keys.keys()) - minKey + 1 : 0);
  for (const [key, n] of keys) bins[key - minKey] = n;
  const latencies = requests.map((r) => r.latencyMs);
  return demandBucketFromCounts(
    { requests: requests.length, errors: requests.filter((r) => r.status >= 500).length, bytes: requests.reduce((n, r) => n + r.bytes, 0), latencyMaxMs: Math.max(0, ...latencies) },
    { zeroCount, min: Math.min(...latencies), max: Math.max(...latencies), sum: latencies.reduce((a, b) => a + b, 0), minKey, bins },
  );
}

describe('demandBucketFromCounts', () => {
  const withZeros = fc.array(fc.record({ status: fc.integer({ min: 100, max: 599 }), latencyMs: fc.oneof(fc.constant(0), latency), bytes: fc.integer({ min: 0, max: 1e9 }) }), { maxLength: 200 });

  it('property: is the bucket the same requests make one by one, and stays so under more requests and merges', () => {
    fc.assert(
      fc.property(withZeros, reqs, reqs, (counted, added, merged) => {
        const a = countedElsewhere(counted);
        const b = bucketOf(counted);
        for (const r of added) {
          addRequest(a, r.status, r.latencyMs, r.bytes);
          addRequest(b, r.status, r.latencyMs, r.bytes);
        }
        const into = (x: DemandBucket) => mergeDemandBuckets(bucketOf(merged), x);
        for (const [x, y] of [
          [a, b],
          [into(countedElsewhere(counted)), into(bucketOf(counted))],
        ]) {
          expect(serializeLatencySketch(x)).toEqual(serializeLatencySketch(y));
          expect([x.requests, x.errors, x.bytes, x.latencyMaxMs, x.latency.count]).toEqual([y.requests, y.errors, y.bytes, y.latencyMaxMs, y.latency.count]);
          for (const q of [0, 0.5, 0.99, 1]) expect(x.latency.getValueAtQuantile(q)).toBe(y.latency.getValueAtQuantile(q));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('DemandBucket', () => {
  it('property: the headroom store answers exactly like the library\'s own DDSketch (quantiles, count, bins, bytes), merges included', () => {
    const bins = (s: DDSketch) => {
      const st = (s as unknown as { store: { bins: number[]; offset: number; minKey: number; maxKey: number } }).store;
      const out: Array<[number, number]> = [];
      for (let k = st.minKey; k <= st.maxKey; k++) if (st.bins[k - st.offset]) out.push([k, st.bins[k - st.offset]]);
      return out;
    };
    fc.assert(
      fc.property(fc.array(fc.array(latency, { maxLength: 120 }), { minLength: 1, maxLength: 4 }), (parts) => {
        const ours = parts.map((values) => {
          const s = newLatencySketch();
          for (const v of values) s.accept(v);
          return s;
        });
        const library = parts.map((values) => {
          const s = new DDSketch({ relativeAccuracy: LATENCY_SKETCH_ACCURACY });
          for (const v of values) s.accept(v);
          return s;
        });
        // Each part, then everything merged into the first (both directions of mixing too).
        for (let i = 1; i < parts.length; i++) {
          ours[0].merge(ours[i]);
          library[0].merge(library[i]);
        }
        for (const [a, b] of ours.map((s, i) => [s, library[i]] as const)) {
          expect(a.count).toBe(b.count);
          expect(bins(a)).toEqual(bins(b));
          for (const q of QS) expect(a.getValueAtQuantile(q)).toBe(b.getValueAtQuantile(q));
          const asBucket = (sk: DDSketch): DemandBucket => ({ requests: sk.count, errors: 0, bytes: 0, latencyMaxMs: 0, latency: sk });
          expect(serializeLatencySketch(asBucket(a)).equals(serializeLatencySketch(asBucket(b)))).toBe(true);
        }
        const mixed = newLatencySketch();
        mixed.merge(library[0]);
        expect(bins(mixed)).toEqual(bins(library[0]));
      }),
      { numRuns: 300 },
    );
  });

  it('counts requests, 5xx errors, bytes and max latency', () => {
    const b = bucketOf([
      { status: 200, latencyMs: 10, bytes: 100 },
      { status: 499, latencyMs: 30, bytes: 0 },
      { status: 500, latencyMs: 20, bytes: 50 },
      { status: 503, latencyMs: 5, bytes: 1 },
    ]);
    expect([b.requests, b.errors, b.bytes, b.latencyMaxMs, b.latency.count]).toEqual([4, 2, 151, 30, 4]);
  });

  it('summarises an empty bucket as zeros', () => {
    expect(latencySummary(emptyDemandBucket())).toEqual({ p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('property: merging is commutative', () => {
    fc.assert(
      fc.property(reqs, reqs, (a, b) => {
        expect(summaryOf(merge(bucketOf(a), bucketOf(b)))).toEqual(summaryOf(merge(bucketOf(b), bucketOf(a))));
      }),
    );
  });

  it('property: merging is associative', () => {
    fc.assert(
      fc.property(reqs, reqs, reqs, (a, b, c) => {
        const left = merge(merge(bucketOf(a), bucketOf(b)), bucketOf(c));
        const right = merge(bucketOf(a), merge(bucketOf(b), bucketOf(c)));
        expect(summaryOf(left)).toEqual(summaryOf(right));
      }),
    );
  });

  it('property: merging parts equals the bucket of the union (counts exactly, sketch bins exactly)', () => {
    fc.assert(
      fc.property(fc.array(reqs, { minLength: 1, maxLength: 6 }), (parts) => {
        const merged = parts.map(bucketOf).reduce(merge, emptyDemandBucket());
        expect(summaryOf(merged)).toEqual(summaryOf(bucketOf(parts.flat())));
      }),
    );
  });

  it('property: merged quantiles stay within 1 % relative error of the exact quantiles of the union', () => {
    fc.assert(
      // Zero latencies (cache hits measured in whole ms) land in the sketch's zero bucket and must stay exact.
      fc.property(fc.array(fc.array(fc.oneof({ weight: 9, arbitrary: latency }, { weight: 1, arbitrary: fc.constant(0) }), { minLength: 1, maxLength: 150 }), { minLength: 1, maxLength: 5 }), (parts) => {
        const merged = parts.map((ls) => bucketOf(ls.map((latencyMs) => ({ status: 200, latencyMs, bytes: 0 })))).reduce(merge, emptyDemandBucket());
        const sorted = parts.flat().sort((x, y) => x - y);
        for (const q of QS) {
          const exact = exactQuantile(sorted, q);
          const approx = merged.latency.getValueAtQuantile(q);
          expect(Math.abs(approx - exact)).toBeLessThanOrEqual(LATENCY_SKETCH_ACCURACY * exact * (1 + 1e-9));
        }
        const summary = latencySummary(merged);
        expect(summary.max).toBe(sorted[sorted.length - 1]);
        expect(summary.p50).toBeLessThanOrEqual(summary.p90);
        expect(summary.p90).toBeLessThanOrEqual(summary.p99);
        expect(summary.p99).toBeLessThanOrEqual(summary.max);
      }),
    );
  });

  it('property: mergeDemandBuckets leaves the source bucket unchanged', () => {
    fc.assert(
      fc.property(reqs, reqs, (a, b) => {
        const from = bucketOf(b);
        const before = summaryOf(from);
        mergeDemandBuckets(bucketOf(a), from);
        addRequest(mergeDemandBuckets(emptyDemandBucket(), from), 500, 1, 1); // a copy made by merging into empty
        expect(summaryOf(from)).toEqual(before);
      }),
    );
  });

  it('property: the serialised sketch round-trips to the same quantiles and count', () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 200 }), (ls) => {
        const bucket = bucketOf(ls.map((latencyMs) => ({ status: 200, latencyMs, bytes: 0 })));
        const bytes = serializeLatencySketch(bucket);
        expect(Buffer.isBuffer(bytes)).toBe(true);
        const back = deserializeLatencySketch(bytes);
        expect(back.count).toBe(bucket.latency.count);
        // Bins round-trip exactly; the mapping's float parameters may differ in the last bits.
        for (const q of QS) expectRelativelyClose(back.getValueAtQuantile(q), bucket.latency.getValueAtQuantile(q));
        // Stored sketches are read, merged and written again: repeated round trips must not drift.
        let again = back;
        for (let i = 0; i < 5; i++) again = deserializeLatencySketch(again.toProto());
        expect(again.count).toBe(bucket.latency.count);
        for (const q of QS) expectRelativelyClose(again.getValueAtQuantile(q), bucket.latency.getValueAtQuantile(q));
        // A round-tripped sketch still merges with a live one (same mapping).
        expect(() => back.merge(bucket.latency)).not.toThrow();
        expect(back.count).toBe(2 * ls.length);
        // And survives base64 (how demand.observed carries it).
        const viaBase64 = deserializeLatencySketch(Buffer.from(bytes.toString('base64'), 'base64'));
        expectRelativelyClose(viaBase64.getValueAtQuantile(0.5), bucket.latency.getValueAtQuantile(0.5));
      }),
    );
  });

  it('shares one empty negative store: a negative latency throws, and a sketch read with negative values gets its own', () => {
    expect(() => newLatencySketch().accept(-1)).toThrow(/no negative values/);
    const library = new DDSketch({ relativeAccuracy: LATENCY_SKETCH_ACCURACY });
    for (const v of [-40, -3, 0, 7, 90]) library.accept(v);
    const read = deserializeLatencySketch(serializeLatencySketch({ ...emptyDemandBucket(), latency: library }));
    for (const q of [0, 0.3, 0.5, 1]) expect(read.getValueAtQuantile(q)).toBeCloseTo(library.getValueAtQuantile(q), 9);
    const fresh = newLatencySketch();
    fresh.accept(5);
    expect(fresh.getValueAtQuantile(0)).toBeGreaterThan(0); // the other sketch's negatives are not shared
    expect(() => fresh.merge(read)).not.toThrow();
  });

  it('property: the hand-written protobuf holds the same bins, zero count and mapping as the library\'s own encoding', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Proto = require('@datadog/sketches-js/dist/ddsketch/proto/compiled').DDSketch;
    type Store = { binCounts?: Record<string, number>; contiguousBinCounts?: number[]; contiguousBinIndexOffset?: number };
    const binsOf = (store: Store | undefined) => {
      const bins = new Map<number, number>();
      for (const [k, c] of Object.entries(store?.binCounts ?? {})) if (c) bins.set(Number(k), (bins.get(Number(k)) ?? 0) + c);
      (store?.contiguousBinCounts ?? []).forEach((c, i) => c && bins.set((store?.contiguousBinIndexOffset ?? 0) + i, (bins.get((store?.contiguousBinIndexOffset ?? 0) + i) ?? 0) + c));
      return [...bins].sort((a, b) => a[0] - b[0]);
    };
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.constant(0), fc.double({ min: 1e-6, max: 1e-3, noNaN: true })), { maxLength: 300 }), (values) => {
        // A sketch read from elsewhere may hold negative values (ingest's own never do): the
        // encoding is checked on the library's sketch with both stores in use.
        const bucket: DemandBucket = { ...emptyDemandBucket(), latency: new DDSketch({ relativeAccuracy: LATENCY_SKETCH_ACCURACY }) };
        for (const v of values) bucket.latency.accept(v);
        const ours = Proto.decode(serializeLatencySketch(bucket));
        const library = Proto.decode(bucket.latency.toProto());
        expect(binsOf(ours.positiveValues)).toEqual(binsOf(library.positiveValues));
        expect(binsOf(ours.negativeValues)).toEqual(binsOf(library.negativeValues));
        expect(ours.zeroCount ?? 0).toBe(library.zeroCount ?? 0);
        expect(ours.mapping).toEqual(library.mapping);
      }),
      { numRuns: 500 },
    );
  });
});

describe('byte totals past 2^53', () => {
  const recordBytes = fc.oneof(fc.integer({ min: 0, max: MAX_RECORD_BYTES }), fc.constantFrom(0, 1, MAX_RECORD_BYTES, MAX_RECORD_BYTES - 1));

  it('sums 100,000 records of MAX_RECORD_BYTES exactly (1e16 > 2^53), and keeps a safe total in bytes alone', () => {
    const bucket = emptyDemandBucket();
    for (let i = 0; i < 100_000; i++) addRequest(bucket, 200, 1, MAX_RECORD_BYTES);
    expect(bytesDecimal(bucket)).toBe('10000000000000000');
    expect(exactBytes(bucket)).toBe(10n ** 16n);
    expect(bucket.bytes).toBe(1e16);
    addRequest(bucket, 200, 1, 1); // 1e16 + 1 is no double: a double sum would lose it
    expect(bytesDecimal(bucket)).toBe('10000000000000001');
    const small = emptyDemandBucket();
    addRequest(small, 200, 1, 12345);
    expect(small.bytesBig).toBeUndefined();
    expect(bytesDecimal(small)).toBe('12345');
  });

  it('adds and merges to the exact bigint sum across the 2^53 boundary, whatever the order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(recordBytes, { maxLength: 20 }), fc.bigInt({ min: 0n, max: 2n ** 60n })), { minLength: 1, maxLength: 8 }),
        (shares) => {
          let expected = 0n;
          const merged = emptyDemandBucket();
          for (const [records, start] of shares) {
            // A share that starts from a stored total (any size), then counts records.
            const share = demandBucketFromCounts({ requests: 0, errors: 0, ...byteTotalOfDecimal(start.toString()), latencyMaxMs: 0 }, { zeroCount: 0, min: Infinity, max: -Infinity, sum: 0, minKey: 0, bins: new Float64Array(0) });
            expected += start;
            for (const b of records) {
              addRequest(share, 200, 1, b);
              expected += BigInt(b);
            }
            mergeDemandBuckets(merged, share);
          }
          expect(exactBytes(merged)).toBe(expected);
          expect(bytesDecimal(merged)).toBe(expected.toString());
          expect(merged.bytes).toBe(Number(expected));
          expect(merged.bytesBig === undefined).toBe(expected <= BigInt(Number.MAX_SAFE_INTEGER));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads a total back from decimal and from the C aggregator\'s high and low halves', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (total) => {
        const fromDecimal = byteTotalOfDecimal(total.toString());
        const fromHalves = byteTotalOfHighLow(Number(total >> 32n), Number(total & 0xffffffffn));
        for (const t of [fromDecimal, fromHalves]) {
          expect(exactBytes(t)).toBe(total);
          expect(t.bytes).toBe(Number(total));
          expect(t.bytesBig === undefined).toBe(total <= BigInt(Number.MAX_SAFE_INTEGER));
        }
      }),
      { numRuns: 2000 },
    );
    expect(byteTotalOfHighLow(2 ** 21 - 1, 2 ** 32 - 1)).toEqual({ bytes: Number.MAX_SAFE_INTEGER, bytesBig: undefined });
    expect(byteTotalOfHighLow(2 ** 21, 0)).toEqual({ bytes: 2 ** 53, bytesBig: 2n ** 53n });
  });
});

describe('packLatencySketches', () => {
  it('packs the same bytes serializeLatencySketch makes, one after another, with 1-based starts and lengths', () => {
    const buckets = [[1, 2, 3], [], [250, 0, 0.5, 4000], Array.from({ length: 3000 }, (_, i) => i * 7.3)].map((latencies) => {
      const bucket = emptyDemandBucket();
      for (const l of latencies) addRequest(bucket, 200, l, 1);
      return bucket;
    });
    const packed = packLatencySketches(buckets);
    const each = buckets.map(serializeLatencySketch);
    expect(packed.bytes).toEqual(Buffer.concat(each));
    expect(packed.lengths).toEqual(each.map((b) => b.length));
    expect(packed.starts).toEqual([1, 1 + each[0].length, 1 + each[0].length + each[1].length, 1 + each[0].length + each[1].length + each[2].length]);
    expect(packLatencySketches([]).bytes.length).toBe(0);
  });
});
