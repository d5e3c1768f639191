import fc from 'fast-check';
import { ErrorCodes } from '@shardcast/contracts';
import { DemandBucket, serializeLatencySketch } from './demand-bucket';
import {
  aggregatePartitionMessages,
  AggregationPolicy,
  BUCKET_MS,
  bucketStartOf,
  PartitionDelta,
  PartitionMessage,
  PartitionProgress,
  watermarkOf,
} from './partition-aggregator';
import { loadNativeTelemetryScanner } from './native-telemetry-scanner';
import { Region } from './region-catalog';
import { RegionLocator } from './region-locator';

const REGIONS: Region[] = [
  { id: 'eu-central-1', name: 'Frankfurt', lat: 50.11, lon: 8.71 },
  { id: 'ap-northeast-1', name: 'Tokyo', lat: 35.69, lon: 139.77 },
  { id: 'us-east-1', name: 'N. Virginia', lat: 37.26, lon: -79.37 },
];
const POPS = new Map([
  ['fra1', { lat: 50.03, lon: 8.57 }],
  ['nrt1', { lat: 35.77, lon: 140.39 }],
]);
const locator = () => new RegionLocator(REGIONS, POPS);
const POLICY: AggregationPolicy = { allowedLatenessMs: 120_000, maxFutureSkewMs: 60_000 };
const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const NOW = T0 + 5 * 60_000;
const START: PartitionProgress = { nextOffset: 0n, maxEventTimeMs: -Infinity };

const FRANKFURT = { lat: 50.1, lon: 8.7 };
const TOKYO = { lat: 35.7, lon: 139.7 };

function rec(ts: number, patch: Record<string, unknown> = {}) {
  return { domain: 'app.example.com', timestamp: ts, client: FRANKFURT, status: 200, latencyMs: 10, bytes: 100, ...patch };
}
const msg = (offset: number, value: unknown): PartitionMessage => ({
  offset: BigInt(offset),
  value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value)),
});
const msgs = (values: unknown[], from = 0) => values.map((v, i) => msg(from + i, v));

/** As the librdkafka consumer hands them over: the values back to back in one buffer (a null one too, empty, with packNulls). */
function inOneBuffer(messages: readonly PartitionMessage[], packNulls = false): PartitionMessage[] {
  const packed = Buffer.concat(messages.map((m) => m.value ?? Buffer.alloc(0)));
  let at = 0;
  return messages.map((m) => (m.value === null && !packNulls ? m : { ...m, valueBuffer: packed, valueStart: at, valueEnd: (at += m.value?.length ?? 0) }));
}

/** A delta's content in comparable form: bucket totals by id, rejections without the shared bytes. */
function totalsOf(deltas: PartitionDelta[]) {
  const buckets = new Map<string, { requests: number; errors: number; bytes: number; latencyMaxMs: number; sketchCount: number }>();
  for (const d of deltas) {
    for (const [id, { key, bucket }] of d.buckets) {
      expect(id).toBe(`${key.domain}\u0000${key.region}\u0000${key.bucketStartMs}`);
      const t = buckets.get(id) ?? { requests: 0, errors: 0, bytes: 0, latencyMaxMs: 0, sketchCount: 0 };
      t.requests += bucket.requests;
      t.errors += bucket.errors;
      t.bytes += bucket.bytes;
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
const sketchesOf = (d: PartitionDelta) =>
  [...d.buckets]
    .map(([id, { bucket }]) => {
      const s = bucket.latency as unknown as { count: number; min: number; max: number };
      return [id, serializeLatencySketch(bucket).toString('hex'), s.count, s.min, s.max, ...[0.01, 0.5, 0.9, 0.99].map((q) => bucket.latency.getValueAtQuantile(q))];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
const requestsIn = (d: PartitionDelta) => [...d.buckets.values()].reduce((n, e) => n + e.bucket.requests, 0);
const bucketFor = (d: PartitionDelta, region: string, ts: number, domain = 'app.example.com'): DemandBucket | undefined =>
  d.buckets.get(`${domain}\u0000${region}\u0000${bucketStartOf(ts)}`)?.bucket;

describe('aggregatePartitionMessages', () => {
  it('counts each accepted record exactly once in its (domain, region, minute) bucket', () => {
    const d = aggregatePartitionMessages(
      START,
      msgs([
        rec(T0 + 1_000, { status: 503, latencyMs: 40, bytes: 7 }),
        { records: [rec(T0 + 2_000), rec(T0 + 59_999, { client: TOKYO }), rec(T0 + 60_000)] },
        rec(T0 + 3_000, { domain: 'OTHER.example.com', client: { pop: 'nrt1' } }),
      ]),
      locator(),
      POLICY,
      NOW,
    );
    expect(d.rejections).toEqual([]);
    expect(d.accepted).toBe(5);
    expect(d.buckets.size).toBe(4);
    const fra = bucketFor(d, 'eu-central-1', T0)!;
    expect([fra.requests, fra.errors, fra.bytes, fra.latencyMaxMs]).toEqual([2, 1, 107, 40]);
    expect(bucketFor(d, 'ap-northeast-1', T0)!.requests).toBe(1);
    expect(bucketFor(d, 'eu-central-1', T0 + 60_000)!.requests).toBe(1);
    expect(bucketFor(d, 'ap-northeast-1', T0, 'other.example.com')!.requests).toBe(1);
    expect(d.progress).toEqual({ nextOffset: 3n, maxEventTimeMs: T0 + 60_000 });
  });

  it('skips messages below the stored nextOffset (replay after a crash) and counts the rest', () => {
    const stored: PartitionProgress = { nextOffset: 12n, maxEventTimeMs: T0 };
    const d = aggregatePartitionMessages(stored, msgs([rec(T0), rec(T0), rec(T0 + 1), rec(T0 + 2)], 10), locator(), POLICY, NOW);
    expect(d.skippedMessages).toBe(2);
    expect(d.accepted).toBe(2);
    expect(requestsIn(d)).toBe(2);
    expect(d.progress.nextOffset).toBe(14n);
    expect(stored).toEqual({ nextOffset: 12n, maxEventTimeMs: T0 }); // input progress untouched
  });

  it('takes kafkajs offsets as decimal strings beyond 2^53, skipping and rejecting at exact offsets', () => {
    const base = 9_007_199_254_740_990n;
    const stored: PartitionProgress = { nextOffset: base + 2n, maxEventTimeMs: T0 };
    const values = [rec(T0), rec(T0), rec(T0 + 1), 'not json', rec(T0 + 2)];
    const messages = values.map((v, i) => ({ offset: (base + BigInt(i)).toString(), value: Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)) }));
    const d = aggregatePartitionMessages(stored, messages, locator(), POLICY, NOW);
    expect([d.skippedMessages, d.accepted]).toEqual([2, 2]);
    expect(d.rejections.map((r) => r.offset)).toEqual([base + 3n]);
    expect(d.progress.nextOffset).toBe(base + 5n);
  });

  it('rejects a record whose bucket ended at or before maxEventTime − allowedLateness as TELEMETRY_LATE', () => {
    const newest = T0 + 10 * 60_000 + 30_000; // 10:10:30 → watermark 10:08:30
    const watermark = newest - POLICY.allowedLatenessMs;
    const d = aggregatePartitionMessages(
      { nextOffset: 0n, maxEventTimeMs: newest },
      msgs([
        rec(bucketStartOf(watermark) - 1), // bucket 10:07–10:08: ended before the watermark
        rec(bucketStartOf(watermark)), // bucket 10:08–10:09: still open
        rec(watermark - BUCKET_MS - 30_000 + 1), // 10:07:00.001: closed
      ]),
      locator(),
      POLICY,
      T0 + 11 * 60_000,
    );
    expect(d.rejections.map((r) => [r.offset, r.index, r.code])).toEqual([
      [0n, null, ErrorCodes.TELEMETRY_LATE],
      [2n, null, ErrorCodes.TELEMETRY_LATE],
    ]);
    expect(d.accepted).toBe(1);
  });

  it('treats a bucket ending exactly at the watermark as closed', () => {
    const newest = T0 + 3 * 60_000 + POLICY.allowedLatenessMs; // watermark exactly 10:03:00
    const d = aggregatePartitionMessages({ nextOffset: 0n, maxEventTimeMs: newest }, msgs([rec(T0 + 2 * 60_000 + 59_999), rec(T0 + 3 * 60_000)]), locator(), POLICY, NOW + 10 * 60_000);
    expect(watermarkOf({ nextOffset: 0n, maxEventTimeMs: newest }, POLICY)).toBe(T0 + 3 * 60_000);
    expect(d.rejections.map((r) => [r.offset, r.code])).toEqual([[0n, ErrorCodes.TELEMETRY_LATE]]);
    expect(d.accepted).toBe(1);
  });

  it('judges lateness against the newest event time seen so far in the same run', () => {
    const d = aggregatePartitionMessages(START, msgs([rec(T0), rec(T0 + 4 * 60_000), rec(T0 + 1_000)]), locator(), POLICY, NOW);
    expect(d.rejections.map((r) => [r.offset, r.code])).toEqual([[2n, ErrorCodes.TELEMETRY_LATE]]);
    expect(d.progress.maxEventTimeMs).toBe(T0 + 4 * 60_000);
  });

  it('rejects a record later than now + maxFutureSkew as TELEMETRY_TOO_FAR_IN_FUTURE without moving the watermark', () => {
    const limit = NOW + POLICY.maxFutureSkewMs;
    const d = aggregatePartitionMessages(START, msgs([rec(limit + 1), rec(limit), rec(limit - 60_000)]), locator(), POLICY, NOW);
    expect(d.rejections.map((r) => [r.offset, r.code])).toEqual([[0n, ErrorCodes.TELEMETRY_TOO_FAR_IN_FUTURE]]);
    expect(d.accepted).toBe(2);
    // Accepted records ahead of the clock count, but the high mark stops at the wall clock.
    expect(d.progress.maxEventTimeMs).toBe(NOW);
  });

  it('rejects, without throwing, a valid record stamped beyond the range of Date (a poison pill otherwise)', () => {
    // Epoch ms is any integer ≥ 0 on the wire; Date (and toISOString in rejection reasons) stops at 8.64e15.
    const beyondDate = 8_640_000_000_000_001;
    const run = () => aggregatePartitionMessages(START, msgs([rec(beyondDate), rec(T0)]), locator(), POLICY, NOW);
    expect(run).not.toThrow();
    const d = run();
    expect(d.rejections).toHaveLength(1);
    expect(d.rejections[0].offset).toBe(0n);
    expect([ErrorCodes.TELEMETRY_TOO_FAR_IN_FUTURE, ErrorCodes.TELEMETRY_INVALID_RECORD]).toContain(d.rejections[0].code);
    expect(d.accepted).toBe(1);
  });

  it('property: never throws for any record the contract accepts, whatever its timestamp', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: T0 - 3_600_000, max: NOW + 3_600_000 })), { minLength: 1, maxLength: 10 }), (timestamps) => {
        const d = aggregatePartitionMessages(START, msgs(timestamps.map((ts) => rec(ts))), locator(), POLICY, NOW);
        expect(d.accepted + d.rejections.length).toBe(timestamps.length);
      }),
    );
  });

  it('rejects an unconfigured edge POP as TELEMETRY_UNKNOWN_POP', () => {
    const d = aggregatePartitionMessages(START, msgs([rec(T0, { client: { pop: 'zzz9' } }), rec(T0, { client: { pop: 'fra1' } })]), locator(), POLICY, NOW);
    expect(d.rejections.map((r) => [r.offset, r.index, r.code])).toEqual([[0n, null, ErrorCodes.TELEMETRY_UNKNOWN_POP]]);
    expect(bucketFor(d, 'eu-central-1', T0)!.requests).toBe(1);
  });

  it('gives a batch rejection the index of the record in the batch (not among its valid records), the offset and the original bytes', () => {
    const batch = msg(7, { records: [rec(T0), rec(T0, { client: { pop: 'zzz9' } }), rec(T0, { domain: 'bad_domain.example' }), rec(NOW + 3_600_000)] });
    const d = aggregatePartitionMessages({ nextOffset: 7n, maxEventTimeMs: -Infinity }, [batch, msg(8, 'not a record'), msg(9, null)], locator(), POLICY, NOW);
    expect(d.rejections.map((r) => [r.offset, r.index, r.code])).toEqual([
      [7n, 2, ErrorCodes.TELEMETRY_INVALID_DOMAIN],
      [7n, 1, ErrorCodes.TELEMETRY_UNKNOWN_POP],
      [7n, 3, ErrorCodes.TELEMETRY_TOO_FAR_IN_FUTURE],
      [8n, null, ErrorCodes.TELEMETRY_INVALID_RECORD],
      [9n, null, ErrorCodes.TELEMETRY_MALFORMED_JSON],
    ]);
    expect(d.rejections[0].value).toBe(batch.value);
    expect(d.rejections[1].value).toBe(batch.value);
    expect(d.accepted).toBe(1);
    expect(d.progress.nextOffset).toBe(10n);
  });

  it('gives the rejected record of a one-record batch index 0, as the decoder does for an invalid one', () => {
    // The DLQ's x-record-index must not depend on why a batch member was rejected.
    const invalid = aggregatePartitionMessages(START, msgs([{ records: [rec(T0, { status: 42 })] }]), locator(), POLICY, NOW);
    expect(invalid.rejections.map((r) => r.index)).toEqual([0]);
    const unknownPop = aggregatePartitionMessages(START, msgs([{ records: [rec(T0, { client: { pop: 'zzz9' } })] }]), locator(), POLICY, NOW);
    expect(unknownPop.rejections.map((r) => r.index)).toEqual([0]);
  });

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
  const partitionArb = fc.record({
    values: fc.array(valueArb, { maxLength: 30 }),
    firstOffset: fc.integer({ min: 0, max: 1000 }),
    alreadyApplied: fc.integer({ min: 0, max: 5 }),
    storedMax: fc.oneof(fc.constant(-Infinity), fc.integer({ min: T0 - 5 * 60_000, max: T0 + 5 * 60_000 })),
  });

  it('property: splitting the messages into two runs (feeding the first progress into the second) changes nothing', () => {
    fc.assert(
      fc.property(partitionArb, fc.nat(), ({ values, firstOffset, alreadyApplied, storedMax }, cut) => {
        const messages = msgs(values, firstOffset);
        const stored: PartitionProgress = { nextOffset: BigInt(firstOffset + alreadyApplied), maxEventTimeMs: storedMax };
        const k = values.length === 0 ? 0 : cut % (values.length + 1);
        const whole = aggregatePartitionMessages(stored, messages, locator(), POLICY, NOW);
        const first = aggregatePartitionMessages(stored, messages.slice(0, k), locator(), POLICY, NOW);
        const second = aggregatePartitionMessages(first.progress, messages.slice(k), locator(), POLICY, NOW);
        expect(totalsOf([first, second])).toEqual(totalsOf([whole]));
        expect(second.progress).toEqual(whole.progress);
      }),
      { numRuns: 500 },
    );
  });

  it('property: a crash after the first run replays everything from the stored progress to the same totals', () => {
    fc.assert(
      fc.property(partitionArb, fc.nat(), ({ values, firstOffset, storedMax }, cut) => {
        const messages = msgs(values, firstOffset);
        const stored: PartitionProgress = { nextOffset: BigInt(firstOffset), maxEventTimeMs: storedMax };
        const k = values.length === 0 ? 0 : cut % (values.length + 1);
        const whole = aggregatePartitionMessages(stored, messages, locator(), POLICY, NOW);
        const first = aggregatePartitionMessages(stored, messages.slice(0, k), locator(), POLICY, NOW);
        // The consumer restarts from the committed Kafka offset (before the cut) and sees it all again.
        const replay = aggregatePartitionMessages(first.progress, messages, locator(), POLICY, NOW);
        expect(replay.skippedMessages).toBe(k);
        expect({ ...totalsOf([first, replay]), skipped: 0 }).toEqual({ ...totalsOf([whole]), skipped: 0 });
      }),
      { numRuns: 300 },
    );
  });

  it('property: a packed run scanned by the C scanner gives the same delta as the same messages decoded one by one', () => {
    const { scanner, error } = loadNativeTelemetryScanner();
    if (!scanner) throw new Error(error);
    fc.assert(
      fc.property(partitionArb, fc.boolean(), ({ values, firstOffset, alreadyApplied, storedMax }, packNulls) => {
        const messages = msgs(values, firstOffset);
        const stored: PartitionProgress = { nextOffset: BigInt(firstOffset + alreadyApplied), maxEventTimeMs: storedMax };
        const inPlace = inOneBuffer(messages, packNulls);
        const plain = aggregatePartitionMessages(stored, messages, locator(), POLICY, NOW);
        const scanned = aggregatePartitionMessages(stored, inPlace, locator(), POLICY, NOW, scanner.scanPacked(inPlace));
        expect(totalsOf([scanned])).toEqual(totalsOf([plain]));
        expect(sketchesOf(scanned)).toEqual(sketchesOf(plain));
        expect(scanned.progress).toEqual(plain.progress);
      }),
      { numRuns: 500 },
    );
  });

  it('property: a scan of the values given as columns (as librdkafka hands them over) gives the same delta as one over the message objects', async () => {
    const { scanner, error } = loadNativeTelemetryScanner();
    if (!scanner) throw new Error(error);
    await fc.assert(
      fc.asyncProperty(partitionArb, async ({ values, firstOffset, alreadyApplied, storedMax }) => {
        const messages = msgs(values, firstOffset);
        const stored: PartitionProgress = { nextOffset: BigInt(firstOffset + alreadyApplied), maxEventTimeMs: storedMax };
        const inPlace = inOneBuffer(messages);
        const buffer = inPlace.find((m) => m.valueBuffer)?.valueBuffer ?? Buffer.alloc(0);
        const positions = { buffer, starts: Int32Array.from(inPlace.map((m) => m.valueStart ?? -1)), ends: Int32Array.from(inPlace.map((m) => m.valueEnd ?? -1)) };
        const fromObjects = aggregatePartitionMessages(stored, inPlace, locator(), POLICY, NOW, await scanner.scanPackedAsync(inPlace));
        const fromColumns = aggregatePartitionMessages(stored, inPlace, locator(), POLICY, NOW, await scanner.scanPositionsAsync(positions));
        expect(totalsOf([fromColumns])).toEqual(totalsOf([fromObjects]));
        expect(sketchesOf(fromColumns)).toEqual(sketchesOf(fromObjects));
        expect(fromColumns.progress).toEqual(fromObjects.progress);
      }),
      { numRuns: 200 },
    );
  });

  it('property: buckets counted in C hold the same sketches as record-by-record, over wide latencies and many records', () => {
    const { scanner, error } = loadNativeTelemetryScanner();
    if (!scanner) throw new Error(error);
    const wide = fc.record({
      domain: fc.constantFrom('app.example.com', 'APP.Example.com', 'b.example.net'),
      timestamp: fc.integer({ min: T0 - 6 * 60_000, max: NOW + 2 * 60_000 }),
      client: fc.constantFrom(FRANKFURT, TOKYO, { lat: -33.9, lon: 151.2 }, { lat: 0.005, lon: -0.005 }),
      status: fc.constantFrom(200, 503),
      latencyMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e-300, noNaN: true }), fc.double({ min: 0, max: 3_600_000, noNaN: true })),
      bytes: fc.integer({ min: 0, max: 1_000_000 }),
    });
    fc.assert(
      fc.property(fc.array(fc.array(wide, { minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 40 }), fc.constantFrom(-Infinity, T0), (batches, storedMax) => {
        const messages = msgs(batches.map((records) => ({ records })));
        const inPlace = inOneBuffer(messages);
        const stored: PartitionProgress = { nextOffset: 0n, maxEventTimeMs: storedMax };
        const plain = aggregatePartitionMessages(stored, messages, locator(), POLICY, NOW);
        const scan = scanner.scanPacked(inPlace)!;
        const calls = jest.spyOn(scan, 'aggregate');
        const scanned = aggregatePartitionMessages(stored, inPlace, locator(), POLICY, NOW, scan);
        // Every message is valid: one call takes them all.
        expect(calls.mock.results.map((r) => r.value.messages)).toEqual([messages.length]);
        expect(totalsOf([scanned])).toEqual(totalsOf([plain]));
        expect(sketchesOf(scanned)).toEqual(sketchesOf(plain));
        expect(scanned.progress).toEqual(plain.progress);
      }),
      { numRuns: 150 },
    );
  });

  it('counts boundary cases in C as record-by-record: a bucket ending at the watermark, the skew limit, a clock ahead, cell edges', () => {
    const { scanner, error } = loadNativeTelemetryScanner();
    if (!scanner) throw new Error(error);
    const bucketEnd = bucketStartOf(T0) + BUCKET_MS;
    const watermarkAt = bucketEnd + POLICY.allowedLatenessMs; // a newest event time that closes [T0's bucket]
    const records = [
      rec(NOW + 30_000, { latencyMs: 0 }), // ahead of the clock, within the skew: counted, but the high mark stops at now
      rec(watermarkAt),
      rec(bucketEnd - 1), // its bucket ends exactly at the watermark: late
      rec(bucketEnd), // the next bucket: counted
      rec(NOW + POLICY.maxFutureSkewMs), // exactly at the limit: counted
      rec(NOW + POLICY.maxFutureSkewMs + 1), // past it: rejected
      rec(watermarkAt, { client: { lat: -0.005, lon: 0.005 } }), // half-way cell edges (Math.round, not C's round)
      rec(watermarkAt, { client: { lat: 89.995, lon: -179.995 }, latencyMs: 1e-320 }),
    ];
    for (const stored of [START, { nextOffset: 0n, maxEventTimeMs: watermarkAt + 60_000 }]) {
      const messages = msgs([records[0], { records: records.slice(1, 5) }, { records: records.slice(5) }]);
      const inPlace = inOneBuffer(messages);
      const plain = aggregatePartitionMessages(stored, messages, locator(), POLICY, NOW);
      const scanned = aggregatePartitionMessages(stored, inPlace, locator(), POLICY, NOW, scanner.scanPacked(inPlace));
      expect(plain.rejections.length).toBeGreaterThan(0);
      expect(totalsOf([scanned])).toEqual(totalsOf([plain]));
      expect(sketchesOf(scanned)).toEqual(sketchesOf(plain));
      expect(scanned.progress).toEqual(plain.progress);
    }
  });

  it('calls C once per stretch it can take: never for messages it cannot read, and the stretch is found once (a POP-only run stays linear)', () => {
    const { scanner, error } = loadNativeTelemetryScanner();
    if (!scanner) throw new Error(error);
    const pop = rec(T0, { client: { pop: 'fra1' } }); // the C scanner reads lat/lon clients only
    const valid = rec(T0);
    const invalid = rec(T0, { status: 42 });
    for (const [values, expectedCalls] of [
      [Array.from({ length: 200 }, () => pop), []],
      [Array.from({ length: 200 }, (_, i) => (i % 2 ? invalid : valid)), Array.from({ length: 100 }, () => 1)],
      [[valid, valid, pop, valid, valid, valid], [2, 3]],
    ] as const) {
      const messages = msgs([...values]);
      const inPlace = inOneBuffer(messages);
      const scan = scanner.scanPacked(inPlace)!;
      const calls = jest.spyOn(scan, 'aggregate');
      const scanned = aggregatePartitionMessages(START, inPlace, locator(), POLICY, NOW, scan);
      expect(calls.mock.results.map((r) => r.value.messages)).toEqual(expectedCalls);
      // Each call is handed the stretch to its end, found once.
      expect(new Set(calls.mock.calls.map((c) => c[1])).size).toBeLessThanOrEqual(2);
      expect(totalsOf([scanned])).toEqual(totalsOf([aggregatePartitionMessages(START, messages, locator(), POLICY, NOW)]));
    }
  });

  it('property: every record of every message is either counted or rejected, and progress only moves forward', () => {
    fc.assert(
      fc.property(partitionArb, ({ values, firstOffset, storedMax }) => {
        const stored: PartitionProgress = { nextOffset: BigInt(firstOffset), maxEventTimeMs: storedMax };
        const d = aggregatePartitionMessages(stored, msgs(values, firstOffset), locator(), POLICY, NOW);
        const expectedOutcomes = values.reduce<number>((n, v) => n + (v !== null && typeof v === 'object' && 'records' in v && Array.isArray(v.records) && v.records.length > 0 ? v.records.length : 1), 0);
        expect(d.accepted + d.rejections.length).toBe(expectedOutcomes);
        expect(requestsIn(d)).toBe(d.accepted);
        expect(d.progress.nextOffset).toBe(BigInt(firstOffset + values.length));
        expect(d.progress.maxEventTimeMs).toBeGreaterThanOrEqual(storedMax);
        for (const r of d.rejections) expect(r.offset).toBeGreaterThanOrEqual(BigInt(firstOffset));
      }),
    );
  });
});

describe('a producer clock running ahead', () => {
  it('is accepted within the skew but does not push the watermark past the wall clock', () => {
    const policy: AggregationPolicy = { allowedLatenessMs: 120_000, maxFutureSkewMs: 300_000 };
    const ahead = rec(NOW + 240_000);
    const onTime = rec(NOW - 30_000);
    const delta = aggregatePartitionMessages(START, msgs([ahead, onTime]), locator(), policy, NOW);
    expect(delta.accepted).toBe(2);
    expect(delta.rejections).toEqual([]);
    expect(delta.progress.maxEventTimeMs).toBe(NOW);
  });
});
