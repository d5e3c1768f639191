import { DemandObserved, DemandObservedBatchEventSchema, MAX_OBSERVED_BATCH_BUCKETS } from '@shardcast/contracts';
import fc from 'fast-check';
import { nextBucketRevision, serializeDemandObservedPayload } from './bucket-publication';
import { addRequest, emptyDemandBucket } from './demand-bucket';
import {
  demandObservedBatchEvent,
  ObservedCommit,
  observedBatchChunkEnds,
  observedBatchEventId,
  observedBatchMessages,
  observedBucketJsonBound,
  serializeDemandObservedBatchEvent,
} from './observed-batch';

const commit: ObservedCommit = { topic: 'telemetry.requests.v1', partition: 3, fromOffset: '1200000', commitOffset: '1250000' };
const at = '2026-12-03T09:00:00.000Z';

/** `n` bucket payloads of `latencies` requests each, spread over four decades of latency (heavy sketches) or one value. */
function payloads(n: number, latencies: number, spread = false): DemandObserved[] {
  return Array.from({ length: n }, (_, i) => {
    const bucket = emptyDemandBucket();
    for (let k = 0; k < latencies; k++) addRequest(bucket, k % 50 === 0 ? 503 : 200, spread ? 0.5 * Math.pow(10, (6.5 * k) / latencies) : 40 + (i % 7), 1000 + k);
    const key = { domain: `app${i}.example.com`, region: i % 2 ? 'eu-west-1' : 'sa-east-1', bucketStartMs: Date.UTC(2026, 11, 3, 8, i % 60) };
    return nextBucketRevision(key, bucket, undefined, 'ingest', new Date(at)).event.payload;
  });
}

/** The writer's messages of a commit of these payloads: every entry, cut by the bounds. */
function writerMessages(buckets: DemandObserved[], c = commit) {
  const ends = observedBatchChunkEnds(buckets.map((b) => observedBucketJsonBound(b.domain, b.region, Buffer.from(b.latencySketch, 'base64').length)));
  const entries = buckets.map((b, position) => ({ position, json: serializeDemandObservedPayload(b) }));
  return { ends, messages: observedBatchMessages(c, ends, entries, 'ingest', at) };
}

describe('observedBatchChunkEnds', () => {
  it(`cuts at ${MAX_OBSERVED_BATCH_BUCKETS} entries, or before the bounds pass the byte limit, and never leaves an entry out`, () => {
    expect(observedBatchChunkEnds([])).toEqual([]);
    expect(observedBatchChunkEnds(new Array(1200).fill(600))).toEqual([500, 1000, 1200]);
    expect(observedBatchChunkEnds(new Array(10).fill(300), 500, 1000)).toEqual([3, 6, 9, 10]);
    expect(observedBatchChunkEnds([5000, 10, 10], 500, 1000)).toEqual([1, 3]); // an entry past the limit alone still goes, in its own chunk
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 30_000 }), { maxLength: 3000 }), (bounds) => {
        const ends = observedBatchChunkEnds(bounds);
        expect(ends.at(-1) ?? 0).toBe(bounds.length);
        let start = 0;
        for (const end of ends) {
          expect(end - start).toBeGreaterThan(0);
          expect(end - start).toBeLessThanOrEqual(MAX_OBSERVED_BATCH_BUCKETS);
          const bytes = bounds.slice(start, end).reduce((a, b) => a + b + 1, 0);
          if (end - start > 1) expect(bytes).toBeLessThanOrEqual(900_000);
          start = end;
        }
      }),
    );
  });
});

describe('observedBucketJsonBound', () => {
  it("is at least the entry's JSON length, for any counts and latencies", () => {
    const number = fc.oneof(fc.double({ min: 0, noNaN: true }), fc.integer({ min: 0 }), fc.constantFrom(0, 1e21, 5e-324, Number.MAX_SAFE_INTEGER, 1.2345678901234567e300));
    fc.assert(
      fc.property(
        fc.record({ requests: number, errors: number, bytes: number, p50: number, p90: number, p99: number, max: number, revision: fc.integer({ min: 1, max: 2 ** 31 - 1 }) }),
        fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
        fc.uint8Array({ maxLength: 3000 }),
        (f, bytesExact, sketch) => {
          const p: DemandObserved = {
            domain: 'a-rather-long-label.example.com',
            region: 'ap-southeast-2',
            bucketStart: '+275760-09-13T00:00:00.000Z',
            bucketSeconds: 2 ** 31 - 1,
            revision: f.revision,
            requests: f.requests,
            errors: f.errors,
            bytes: f.bytes,
            bytesExact: String(bytesExact),
            latencyMs: { p50: f.p50, p90: f.p90, p99: f.p99, max: f.max },
            latencySketch: Buffer.from(sketch).toString('base64'),
          };
          expect(serializeDemandObservedPayload(p).length).toBeLessThanOrEqual(observedBucketJsonBound(p.domain, p.region, sketch.length));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('observedBatchMessages', () => {
  it('writes one valid event per chunk, keyed by source partition, each what serializing the event object writes', () => {
    const buckets = payloads(1234, 2);
    const { ends, messages } = writerMessages(buckets);
    expect(ends).toEqual([500, 1000, 1234]);
    expect(messages.map((m) => m.key)).toEqual(['telemetry.requests.v1:3', 'telemetry.requests.v1:3', 'telemetry.requests.v1:3']);
    for (const [chunk, m] of messages.entries()) {
      const expected = demandObservedBatchEvent(commit, chunk, 3, buckets.slice(chunk === 0 ? 0 : ends[chunk - 1], ends[chunk]), 'ingest', at);
      expect(m.eventId).toBe(expected.eventId);
      expect(m.payload).toBe(serializeDemandObservedBatchEvent(expected));
      const parsed = DemandObservedBatchEventSchema.safeParse(JSON.parse(m.payload));
      expect(parsed.error).toBeUndefined();
    }
    // Every bucket exactly once, in order.
    expect(messages.flatMap((m) => JSON.parse(m.payload).payload.buckets)).toEqual(buckets);
  });

  it('keeps every event under librdkafka\'s 1,000,000-byte message limit, with heavy sketches too', () => {
    const heavy = payloads(600, 1500, true);
    expect(Buffer.from(heavy[0].latencySketch, 'base64').length).toBeGreaterThan(3000); // a heavy bucket's sketch: kB, not the ~2 kB worst case 0022 assumed
    const { messages } = writerMessages(heavy);
    expect(messages.length).toBeGreaterThan(Math.ceil(600 / MAX_OBSERVED_BATCH_BUCKETS)); // the byte limit cut them
    for (const m of messages) expect(Buffer.byteLength(m.payload)).toBeLessThan(1_000_000);
    expect(messages.flatMap((m) => JSON.parse(m.payload).payload.buckets)).toHaveLength(600);
  });

  it('gives a rebuild the same ids and bytes; entries replaced since drop out, and an emptied chunk is not sent', () => {
    const buckets = payloads(1100, 1);
    const { ends, messages } = writerMessages(buckets);
    const later = observedBatchMessages(commit, ends, buckets.map((b, position) => ({ position, json: serializeDemandObservedPayload(b) })), 'ingest', at);
    expect(later).toEqual(messages);
    // A poll that finds every revision of chunk 1 and one of chunk 0 replaced.
    const left = buckets.map((b, position) => ({ position, json: serializeDemandObservedPayload(b) })).filter((e) => e.position !== 7 && (e.position < 500 || e.position >= 1000));
    const rebuilt = observedBatchMessages(commit, ends, left, 'ingest', at);
    expect(rebuilt.map((m) => m.eventId)).toEqual([messages[0].eventId, messages[2].eventId]);
    expect(JSON.parse(rebuilt[0].payload).payload.buckets).toEqual(buckets.slice(0, 500).filter((_, i) => i !== 7));
    expect(JSON.parse(rebuilt[0].payload).payload.source).toEqual({ ...commit, chunk: 0, chunks: 3 });
    expect(rebuilt[1].payload).toBe(messages[2].payload);
  });

  it('derives ids from the commit and chunk alone: not the time, not the contents', () => {
    expect(observedBatchEventId(commit, 0)).toBe(observedBatchEventId({ ...commit }, 0));
    const ids = new Set([
      observedBatchEventId(commit, 0),
      observedBatchEventId(commit, 1),
      observedBatchEventId({ ...commit, partition: 4 }, 0),
      observedBatchEventId({ ...commit, topic: 'p.telemetry.requests.v1' }, 0),
      observedBatchEventId({ ...commit, commitOffset: '1250001' }, 0),
      // An idle partition's close commits at the offset its last batch left: another id.
      observedBatchEventId({ ...commit, fromOffset: commit.commitOffset }, 0),
      observedBatchEventId({ ...commit, fromOffset: null }, 0),
    ]);
    expect(ids.size).toBe(7);
    const a = observedBatchMessages(commit, [1], [{ position: 0, json: serializeDemandObservedPayload(payloads(1, 1)[0]) }], 'ingest', at);
    const b = observedBatchMessages(commit, [1], [{ position: 0, json: serializeDemandObservedPayload(payloads(1, 3)[0]) }], 'ingest', '2026-12-04T00:00:00.000Z');
    expect(a[0].eventId).toBe(b[0].eventId);
  });

  it('refuses an entry past the last chunk (a list that does not match its cut)', () => {
    expect(() => observedBatchMessages(commit, [1], [{ position: 0, json: '{}' }, { position: 1, json: '{}' }], 'ingest', at)).toThrow(/past the commit's last chunk/);
  });
});

describe('serializeDemandObservedBatchEvent', () => {
  it('writes exactly what JSON.stringify writes, for any strings and numbers', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('eu-west-1', 'telemetry.requests.v1', 'a"b\\c\n', '\ud800x'));
    const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 1e21, 5e-324, Number.MAX_SAFE_INTEGER, NaN, Infinity));
    const bucket = fc.record({
      domain: text,
      region: text,
      bucketStart: text,
      bucketSeconds: number,
      revision: number,
      requests: number,
      errors: number,
      bytes: number,
      bytesExact: fc.option(text, { nil: undefined }),
      latencyMs: fc.record({ p50: number, p90: number, p99: number, max: number }),
      latencySketch: text,
    });
    fc.assert(
      fc.property(
        fc.record({ topic: text, partition: number, fromOffset: fc.option(text, { nil: null }), commitOffset: text, chunk: number, chunks: number }),
        fc.array(bucket, { maxLength: 5 }),
        fc.record({ eventId: text, occurredAt: text, producedBy: text, correlationId: text, causationId: fc.option(text, { nil: null }) }),
        (source, buckets, envelope) => {
          // In the envelope's field order, as events are built.
          const { eventId, occurredAt, producedBy, correlationId, causationId } = envelope;
          const event = { eventId, type: 'demand.observed' as const, occurredAt, producedBy, correlationId, causationId, payload: { source, buckets } };
          expect(serializeDemandObservedBatchEvent(event)).toBe(JSON.stringify(event));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
