import { DEMAND_OBSERVED, DemandObserved, DemandObservedEvent, EventEnvelope, observedBucketEventId } from '@shardcast/contracts';
import { bytesDecimal, DemandBucket, latencySummary, mergeDemandBuckets, serializeLatencySketch } from './demand-bucket';
import { BucketKey, BUCKET_MS } from './partition-aggregator';

export const bucketId = (key: BucketKey): string => `${key.domain}\u0000${key.region}\u0000${key.bucketStartMs}`;

/** A published bucket as stored: the shares of the partitions that have closed it so far. */
export interface StoredBucketRevision {
  revision: number;
  /** Owned by the caller and given away: it is merged into, not copied. */
  bucket: DemandBucket;
}

export interface BucketPublication {
  key: BucketKey;
  revision: number;
  /**
   * The stored shares plus this one. Without a stored revision this is the share's own object
   * (often still referenced by a partition ledger that a failed commit keeps): read it, never
   * change it.
   */
  readonly bucket: Readonly<DemandBucket>;
  latency: { p50: number; p90: number; p99: number; max: number };
  sketch: Buffer;
  /** The revision as a bucket payload: a v2 entry, and the payload of `event`. */
  payload: DemandObserved;
  /** Its `demand.observed.v1` event, made on first read (its id is a SHA-256: with v1 off, never). */
  readonly event: DemandObservedEvent;
}

/**
 * The next published revision of a bucket when one partition closes its share: the stored
 * revision's shares plus this one (counts add, sketches merge), revision + 1, and a
 * `demand.observed.v1` event whose id is a function of (domain, region, bucket, revision), so a
 * replay publishes the same id. A partition's closed share is final (its watermark has passed the
 * bucket: later records are late), so each share is added exactly once, when it closes.
 */
export function nextBucketRevision(
  key: BucketKey,
  share: DemandBucket,
  stored: StoredBucketRevision | undefined,
  producedBy: string,
  occurredAt: Date,
): BucketPublication {
  const bucket = stored ? mergeDemandBuckets(stored.bucket, share) : share;
  const revision = (stored?.revision ?? 0) + 1;
  const latency = latencySummary(bucket);
  const sketch = serializeLatencySketch(bucket);
  const payload = demandObservedPayload(key, revision, { requests: bucket.requests, errors: bucket.errors, bytesExact: bytesDecimal(bucket) }, latency, sketch);
  let event: DemandObservedEvent | undefined;
  return {
    key,
    revision,
    bucket,
    latency,
    sketch,
    payload,
    get event() {
      return (event ??= demandObservedEventOf(key, payload, producedBy, occurredAt.toISOString()));
    },
  };
}

/**
 * The `demand.observed.v1` event of a bucket revision: a function of what demand_buckets stores
 * (counts, quantiles, sketch, revision, the time it was written), so an outbox poll can rebuild
 * the event a writer sent, byte for byte, instead of storing it. `bytesExact` is the exact byte
 * total in decimal (as PostgreSQL's bigint reads back as text); `bytes` is derived from it here,
 * so writer and poll round it alike past 2^53.
 */
export function demandObservedEvent(
  key: BucketKey,
  revision: number,
  totals: { requests: number; errors: number; bytesExact: string },
  latency: { p50: number; p90: number; p99: number; max: number },
  sketch: Buffer,
  producedBy: string,
  occurredAt: string,
): DemandObservedEvent {
  return demandObservedEventOf(key, demandObservedPayload(key, revision, totals, latency, sketch), producedBy, occurredAt);
}

/** A bucket revision's payload: what a v1 event carries, and a v2 event per bucket. */
export function demandObservedPayload(
  key: BucketKey,
  revision: number,
  totals: { requests: number; errors: number; bytesExact: string },
  latency: { p50: number; p90: number; p99: number; max: number },
  sketch: Buffer,
): DemandObserved {
  return {
    domain: key.domain,
    region: key.region,
    bucketStart: new Date(key.bucketStartMs).toISOString(),
    bucketSeconds: BUCKET_MS / 1000,
    revision,
    requests: totals.requests,
    errors: totals.errors,
    bytes: Number(totals.bytesExact),
    bytesExact: totals.bytesExact,
    latencyMs: latency,
    latencySketch: sketch.toString('base64'),
  };
}

/** The v1 envelope around a payload; its id is a function of (domain, region, bucket start, revision). */
function demandObservedEventOf(key: BucketKey, payload: DemandObserved, producedBy: string, occurredAt: string): DemandObservedEvent {
  const eventId = observedBucketEventId(payload);
  return { eventId, type: DEMAND_OBSERVED, occurredAt, producedBy, correlationId: eventId, causationId: null, payload };
}

/** A character JSON.stringify would escape (quote, backslash, control) or a surrogate (it escapes lone ones). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
export const jsonString = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);
export const jsonNumber = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

/**
 * JSON.stringify(event), written out field by field: one event per closed bucket made this a
 * tenth of the event loop's time, and the template takes half as long. A property test holds it
 * to JSON.stringify, so a field added to the event without adding it here fails.
 */
export function serializeDemandObservedEvent(e: DemandObservedEvent): string {
  return `${envelopeJsonHead(e)}${serializeDemandObservedPayload(e.payload)}}`;
}

/** An envelope as JSON up to its payload: `{"eventId":…,"causationId":…,"payload":`. */
export function envelopeJsonHead(e: Omit<EventEnvelope<string, unknown>, 'payload'>): string {
  return (
    `{"eventId":${jsonString(e.eventId)},"type":${jsonString(e.type)},"occurredAt":${jsonString(e.occurredAt)},"producedBy":${jsonString(e.producedBy)},` +
    `"correlationId":${jsonString(e.correlationId)},"causationId":${e.causationId === null ? 'null' : jsonString(e.causationId)},"payload":`
  );
}

/** JSON.stringify of one bucket's payload: a v1 event's, and each entry of a v2 event's `buckets`. */
export function serializeDemandObservedPayload(p: DemandObserved): string {
  const l = p.latencyMs;
  return (
    `{"domain":${jsonString(p.domain)},"region":${jsonString(p.region)},"bucketStart":${jsonString(p.bucketStart)},` +
    `"bucketSeconds":${jsonNumber(p.bucketSeconds)},"revision":${jsonNumber(p.revision)},"requests":${jsonNumber(p.requests)},` +
    `"errors":${jsonNumber(p.errors)},"bytes":${jsonNumber(p.bytes)},${p.bytesExact === undefined ? '' : `"bytesExact":${jsonString(p.bytesExact)},`}` +
    `"latencyMs":{"p50":${jsonNumber(l.p50)},"p90":${jsonNumber(l.p90)},"p99":${jsonNumber(l.p99)},"max":${jsonNumber(l.max)}},` +
    `"latencySketch":${jsonString(p.latencySketch)}}`
  );
}
