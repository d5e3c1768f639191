import { DemandObservedEventSchema, MAX_RECORD_BYTES } from '@shardcast/contracts';
import fc from 'fast-check';
import { demandObservedEvent, nextBucketRevision, serializeDemandObservedEvent, serializeDemandObservedPayload } from './bucket-publication';
import { addRequest, deserializeLatencySketch, emptyDemandBucket } from './demand-bucket';

const key = { domain: 'app.example.com', region: 'eu-west-1', bucketStartMs: Date.UTC(2014, 3, 10, 12, 0) };

function share(latencies: number[], status = 200) {
  const bucket = emptyDemandBucket();
  for (const l of latencies) addRequest(bucket, status, l, 1000);
  return bucket;
}

describe('nextBucketRevision', () => {
  it('adds a closed share to the stored revision and publishes the next revision as a valid event', () => {
    const at = new Date('2026-11-25T00:00:00Z');
    const pub = nextBucketRevision(key, share([30], 503), { revision: 1, bucket: share([10, 20]) }, 'ingest', at);
    expect(pub.revision).toBe(2);
    expect(pub.event.payload).toMatchObject({ requests: 3, errors: 1, bytes: 3000, bytesExact: '3000', revision: 2, bucketSeconds: 60, bucketStart: '2014-04-10T12:00:00.000Z' });
    expect(pub.latency.max).toBe(30);
    expect(deserializeLatencySketch(Buffer.from(pub.event.payload.latencySketch, 'base64')).count).toBe(3);
    expect(DemandObservedEventSchema.safeParse(pub.event).success).toBe(true);
  });

  it('publishes a first share as revision 1 without changing the share', () => {
    const first = share([5, 7]);
    const pub = nextBucketRevision(key, first, undefined, 'ingest', new Date(0));
    expect(pub.event.payload).toMatchObject({ requests: 2, revision: 1 });
    expect(pub.bucket).toBe(first);
    expect(first.requests).toBe(2);
  });

  it('publishes a byte total past 2^53 exactly in bytesExact, and the nearest double in bytes', () => {
    const big = emptyDemandBucket();
    for (let i = 0; i < 100_000; i++) addRequest(big, 200, 5, MAX_RECORD_BYTES);
    const pub = nextBucketRevision(key, big, { revision: 1, bucket: share([1]) }, 'ingest', new Date(0));
    expect(pub.event.payload.bytesExact).toBe('10000000000001000');
    expect(pub.event.payload.bytes).toBe(Number(10000000000001000n));
    expect(DemandObservedEventSchema.safeParse(pub.event).success).toBe(true);
    expect(JSON.parse(serializeDemandObservedEvent(pub.event))).toEqual(pub.event);
  });

  it('carries the payload a v2 entry takes, the same its v1 event carries (made once, when read)', () => {
    const pub = nextBucketRevision(key, share([5, 9]), undefined, 'ingest', new Date(0));
    expect(Object.getOwnPropertyDescriptor(pub, 'event')?.get).toBeDefined();
    expect(pub.event.payload).toBe(pub.payload);
    expect(pub.event).toBe(pub.event);
    expect(serializeDemandObservedPayload(pub.payload)).toBe(JSON.stringify(pub.event.payload));
  });

  it('gives a replay the same event id, and another revision another id', () => {
    const a = nextBucketRevision(key, share([5]), undefined, 'ingest', new Date(1));
    const b = nextBucketRevision(key, share([5]), undefined, 'ingest', new Date(2));
    const c = nextBucketRevision(key, share([5]), { revision: 1, bucket: share([1]) }, 'ingest', new Date(1));
    expect(a.event.eventId).toBe(b.event.eventId);
    expect(c.event.eventId).not.toBe(a.event.eventId);
  });
});

describe('serializeDemandObservedEvent', () => {
  it('writes exactly what JSON.stringify writes, for any strings and numbers', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('eu-west-1', 'app.example.com', 'a"b\\c\n', '\ud800x'));
    const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 1e21, 5e-324, Number.MAX_SAFE_INTEGER, NaN, Infinity));
    fc.assert(
      fc.property(
        fc.record({ domain: text, region: text, producedBy: text, occurredAt: text, requests: number, errors: number, bytes: number, bytesExact: fc.option(fc.oneof(text, fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String)), { nil: undefined }), p50: number, p90: number, p99: number, max: number, revision: fc.integer({ min: 1, max: 1000 }) }),
        fc.uint8Array({ maxLength: 600 }),
        fc.option(text, { nil: null }),
        (f, sketch, causationId) => {
          const event = demandObservedEvent(
            { domain: f.domain, region: f.region, bucketStartMs: Date.UTC(2014, 3, 10, 12, 0) },
            f.revision,
            { requests: f.requests, errors: f.errors, bytesExact: f.bytesExact ?? '0' },
            { p50: f.p50, p90: f.p90, p99: f.p99, max: f.max },
            Buffer.from(sketch),
            f.producedBy,
            f.occurredAt,
          );
          event.causationId = causationId;
          if (f.bytesExact === undefined) {
            event.payload.bytes = f.bytes; // an event from a producer that leaves bytesExact out
            event.payload.bytesExact = undefined;
          }
          expect(serializeDemandObservedEvent(event)).toBe(JSON.stringify(event));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('covers every field of a real event (a field it does not write would be missing)', () => {
    const pub = nextBucketRevision(key, share([5, 50, 500]), undefined, 'ingest', new Date('2026-11-26T00:00:00Z'));
    expect(JSON.parse(serializeDemandObservedEvent(pub.event))).toEqual(pub.event);
  });
});
