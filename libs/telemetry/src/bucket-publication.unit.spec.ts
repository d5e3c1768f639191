import { DemandObservedEventSchema } from '@shardcast/contracts';
import { bucketId, nextBucketRevisions } from './bucket-publication';
import { addRequest, deserializeLatencySketch, emptyDemandBucket } from './demand-bucket';

const key = { domain: 'app.example.com', region: 'eu-west-1', bucketStartMs: Date.UTC(2014, 3, 10, 12, 0) };
const other = { ...key, region: 'us-east-1' };

function share(latencies: number[], status = 200) {
  const bucket = emptyDemandBucket();
  for (const l of latencies) addRequest(bucket, status, l, 1000);
  return bucket;
}

describe('nextBucketRevisions', () => {
  it('merges every partition share of a bucket and publishes the next revision as a valid event', () => {
    const at = new Date('2026-11-25T00:00:00Z');
    const [pub] = nextBucketRevisions([key], [{ key, bucket: share([10, 20]) }, { key, bucket: share([30], 503) }, { key: other, bucket: share([99]) }], new Map([[bucketId(key), 1]]), 'ingest', at);
    expect(pub.revision).toBe(2);
    expect(pub.event.payload).toMatchObject({ requests: 3, errors: 1, bytes: 3000, revision: 2, bucketSeconds: 60, bucketStart: '2014-04-10T12:00:00.000Z' });
    expect(pub.latency.max).toBe(30);
    expect(deserializeLatencySketch(Buffer.from(pub.event.payload.latencySketch, 'base64')).count).toBe(3);
    expect(DemandObservedEventSchema.safeParse(pub.event).success).toBe(true);
  });

  it('gives a replay the same event id, and another revision another id', () => {
    const partials = [{ key, bucket: share([5]) }];
    const a = nextBucketRevisions([key], partials, new Map(), 'ingest', new Date(1))[0];
    const b = nextBucketRevisions([key], partials, new Map(), 'ingest', new Date(2))[0];
    const c = nextBucketRevisions([key], partials, new Map([[bucketId(key), 1]]), 'ingest', new Date(1))[0];
    expect(a.event.eventId).toBe(b.event.eventId);
    expect(c.event.eventId).not.toBe(a.event.eventId);
  });

  it('publishes an empty bucket rather than failing when no share is found', () => {
    const [pub] = nextBucketRevisions([other], [], new Map(), 'ingest', new Date(0));
    expect(pub.event.payload).toMatchObject({ requests: 0, revision: 1, latencyMs: { p50: 0, p90: 0, p99: 0, max: 0 } });
  });
});
