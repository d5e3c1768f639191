import { DEMAND_OBSERVED, DemandObservedEvent, deterministicEventId } from '@shardcast/contracts';
import { DemandBucket, emptyDemandBucket, latencySummary, mergeDemandBuckets, serializeLatencySketch } from './demand-bucket';
import { BucketKey, BUCKET_MS } from './partition-aggregator';

export const bucketId = (key: BucketKey): string => `${key.domain}\u0000${key.region}\u0000${key.bucketStartMs}`;

export interface BucketPublication {
  key: BucketKey;
  revision: number;
  /**
   * Every partition's share merged. With a single share this is that share's own object (often
   * still referenced by a partition ledger that a failed commit keeps): read it, never change it.
   */
  readonly bucket: Readonly<DemandBucket>;
  latency: { p50: number; p90: number; p99: number; max: number };
  sketch: Buffer;
  event: DemandObservedEvent;
}

/**
 * The next published revision of each closed bucket: all partitions' shares merged (counts add,
 * sketches merge), revision + 1, and a `demand.observed.v1` event whose id is a function of
 * (domain, region, bucket, revision), so a replay publishes the same id.
 */
export function nextBucketRevisions(
  closed: readonly BucketKey[],
  partials: ReadonlyArray<{ key: BucketKey; bucket: DemandBucket }>,
  revisions: ReadonlyMap<string, number>,
  producedBy: string,
  occurredAt: Date,
): BucketPublication[] {
  const byId = new Map<string, DemandBucket[]>();
  for (const p of partials) {
    const id = bucketId(p.key);
    const list = byId.get(id);
    if (list) list.push(p.bucket);
    else byId.set(id, [p.bucket]);
  }
  // A bucket fed by one partition (the usual case: producers key by domain) is published as that
  // share itself, without a merged copy; `partials` are final shares and are not changed here.
  const merged = new Map<string, DemandBucket>();
  for (const [id, list] of byId) merged.set(id, list.length === 1 ? list[0] : list.reduce((into, b) => mergeDemandBuckets(into, b), emptyDemandBucket()));
  return closed.map((key) => {
    const bucket = merged.get(bucketId(key)) ?? emptyDemandBucket();
    const revision = (revisions.get(bucketId(key)) ?? 0) + 1;
    const latency = latencySummary(bucket);
    const sketch = serializeLatencySketch(bucket);
    const bucketStart = new Date(key.bucketStartMs).toISOString();
    const eventId = deterministicEventId(DEMAND_OBSERVED, key.domain, key.region, bucketStart, revision);
    return {
      key,
      revision,
      bucket,
      latency,
      sketch,
      event: {
        eventId,
        type: DEMAND_OBSERVED,
        occurredAt: occurredAt.toISOString(),
        producedBy,
        correlationId: eventId,
        causationId: null,
        payload: {
          domain: key.domain,
          region: key.region,
          bucketStart,
          bucketSeconds: BUCKET_MS / 1000,
          revision,
          requests: bucket.requests,
          errors: bucket.errors,
          bytes: bucket.bytes,
          latencyMs: latency,
          latencySketch: sketch.toString('base64'),
        },
      },
    };
  });
}
