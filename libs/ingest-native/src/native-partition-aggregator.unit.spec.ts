import fc from 'fast-check';
import { MAX_RECORD_BYTES } from '@shardcast/contracts';
import { aggregatePartitionMessages, BUCKET_MS, bytesDecimal, PartitionProgress } from '@shardcast/telemetry';
import { bucketStartOf, locator, POLICY, T0, NOW, START, FRANKFURT, TOKYO, rec, msgs, inOneBuffer, totalsOf, sketchesOf, partitionArb } from '@shardcast/telemetry/testing';
import { loadNativeTelemetryScanner } from './native-telemetry-scanner';
import { propertyRuns } from '../test/property-runs';

// The native implementation against the reference, aggregatePartitionMessages record by record.
describe('aggregatePartitionMessages with the C scanner and aggregator (NativeTelemetryScanner)', () => {
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
      { numRuns: propertyRuns(500) },
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
      { numRuns: propertyRuns(200) },
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
      bytes: fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: MAX_RECORD_BYTES }), fc.constant(MAX_RECORD_BYTES)),
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
      { numRuns: propertyRuns(150) },
    );
  });

  it('sums bytes past 2^53 exactly in C as in TypeScript: 100,000 records of MAX_RECORD_BYTES in one bucket, plus one byte', () => {
    const { scanner, error } = loadNativeTelemetryScanner();
    if (!scanner) throw new Error(error);
    const records = Array.from({ length: 10_000 }, (_, i) => rec(T0 + (i % 50), { bytes: MAX_RECORD_BYTES }));
    const batches = [...Array.from({ length: 10 }, () => ({ records })), rec(T0, { bytes: 1 })];
    const messages = msgs(batches);
    const inPlace = inOneBuffer(messages);
    const plain = aggregatePartitionMessages(START, messages, locator(), POLICY, NOW);
    const scanned = aggregatePartitionMessages(START, inPlace, locator(), POLICY, NOW, scanner.scanPacked(inPlace));
    for (const delta of [plain, scanned]) {
      expect([...delta.buckets.values()].map((e) => bytesDecimal(e.bucket))).toEqual(['10000000000000001']); // a double sum gives 1e16
    }
    expect(totalsOf([scanned])).toEqual(totalsOf([plain]));
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
});
