import fc from 'fast-check';
import { ErrorCodes } from '@shardcast/contracts';
import { DemandBucket } from './demand-bucket';
import { aggregatePartitionMessages, AggregationPolicy, BUCKET_MS, bucketStartOf, PartitionDelta, PartitionProgress, watermarkOf } from './partition-aggregator';
import { locator, POLICY, T0, NOW, START, TOKYO, rec, msg, msgs, totalsOf, partitionArb } from '../testing';

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
