import { ErrorCodes, TelemetryRecord } from '@shardcast/contracts';
import { addRequest, DemandBucket, emptyDemandBucket } from './demand-bucket';
import { RegionLocator } from './region-locator';
import { decodeTelemetryMessage, RecordRejection } from './telemetry-decoder';
import { commonValuesValid } from './common-record';
import type { PackedScan } from './native-telemetry-scanner';

export const BUCKET_MS = 60_000;

export interface AggregationPolicy {
  /** How far behind the newest event time of a partition a record may arrive and still count. */
  allowedLatenessMs: number;
  /** A record stamped later than the wall clock plus this is rejected (a broken clock). */
  maxFutureSkewMs: number;
}

/** What survives a flush for one partition: the next offset to read and the event-time high mark. */
export interface PartitionProgress {
  nextOffset: bigint;
  /** Largest event time accepted so far; -Infinity before the first record. */
  maxEventTimeMs: number;
}

export interface PartitionMessage {
  /** A partition's messages come in offset order; kafkajs gives offsets as decimal strings. */
  offset: bigint | string | number;
  /** The original bytes; with `valueBuffer` set, read only for a rejection (it may build a view). */
  value: Buffer | null;
  /** A non-null value as `valueBuffer[valueStart, valueEnd)` of a packed batch: decoded in place. */
  valueBuffer?: Buffer;
  valueStart?: number;
  valueEnd?: number;
}

export interface MessageRejection extends RecordRejection {
  offset: bigint;
  /** The original message bytes; `index` says which record of a batch was rejected. */
  value: Buffer | null;
}

export interface BucketKey {
  domain: string;
  region: string;
  bucketStartMs: number;
}

export interface PartitionDelta {
  /** Keyed by `domain\u0000region\u0000bucketStartMs`. */
  buckets: Map<string, { key: BucketKey; bucket: DemandBucket }>;
  rejections: MessageRejection[];
  accepted: number;
  /** Messages already applied by an earlier flush (replay after a crash or rebalance). */
  skippedMessages: number;
  progress: PartitionProgress;
}

/** Buckets whose end is at or before this time are closed for the partition. */
export function watermarkOf(progress: PartitionProgress, policy: AggregationPolicy): number {
  return progress.maxEventTimeMs - policy.allowedLatenessMs;
}

export function bucketStartOf(timestampMs: number): number {
  return Math.floor(timestampMs / BUCKET_MS) * BUCKET_MS;
}

/**
 * Folds a run of one partition's messages into per-bucket deltas. Pure and deterministic given
 * (progress, messages, policy, nowMs): replaying the same messages from the same stored progress
 * gives the same deltas, which is what makes the stored totals exact across crashes.
 */
export function aggregatePartitionMessages(
  progress: PartitionProgress,
  messages: readonly PartitionMessage[],
  locator: RegionLocator,
  policy: AggregationPolicy,
  nowMs: number,
  /** The C scanner's answers for these messages (NativeTelemetryScanner.scanPacked/scanPackedAsync). */
  native?: PackedScan,
): PartitionDelta {
  const delta: PartitionDelta = { buckets: new Map(), rejections: [], accepted: 0, skippedMessages: 0, progress: { ...progress } };
  const index: BucketIndex = new Map();
  // Offsets rise within a partition: only a leading run can be below the stored next offset, and
  // the per-message offsets are parsed only for that run, for rejections, and for the last one.
  let first = 0;
  while (first < messages.length && BigInt(messages[first].offset) < progress.nextOffset) first++;
  delta.skippedMessages = first;
  let last: PartitionMessage | undefined;
  for (let m = first; m < messages.length; m++) {
    const message = messages[m];
    last = message;
    if (native && acceptNativelyScanned(delta, index, native, native.scanIndex[m], message, locator, policy, nowMs)) continue;
    const packed = message.valueBuffer;
    const decoded = packed === undefined ? decodeTelemetryMessage(message.value) : decodeTelemetryMessage(packed, message.valueStart, message.valueEnd);
    for (const rejection of decoded.rejections) delta.rejections.push({ ...rejection, offset: BigInt(message.offset), value: message.value });
    const records = decoded.records;
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      const region = 'pop' in record.client ? locator.forPop(record.client.pop) : locator.nearest(record.client.lat, record.client.lon);
      const rejection = acceptRecord(delta, index, record.domain, record.timestamp, region, record.client, record.status, record.latencyMs, record.bytes, policy, nowMs);
      if (rejection) delta.rejections.push({ ...rejection, index: decoded.batch ? decoded.positions[i] : null, offset: BigInt(message.offset), value: message.value });
    }
  }
  if (last) delta.progress.nextOffset = BigInt(last.offset) + 1n;
  return delta;
}

/**
 * Accepts a message the native scanner answered for, straight from its arrays (no record objects),
 * when every record passes the same checks as commonRecordOf; false leaves the message to
 * decodeTelemetryMessage, untouched.
 */
function acceptNativelyScanned(
  delta: PartitionDelta,
  index: BucketIndex,
  run: PackedScan,
  i: number,
  message: PartitionMessage,
  locator: RegionLocator,
  policy: AggregationPolicy,
  nowMs: number,
): boolean {
  if (i < 0 || run.kinds[i] === 0) return false;
  const start = run.recordStart(i);
  const end = run.recordEnds[i];
  const v = run.values;
  for (let r = start; r < end; r++) {
    const o = 6 * r;
    if (run.domainOf(r) === null || !commonValuesValid(v[o], v[o + 1], v[o + 2], v[o + 3], v[o + 4], v[o + 5])) return false;
  }
  const batch = run.kinds[i] === 2;
  for (let r = start; r < end; r++) {
    const o = 6 * r;
    const region = locator.nearest(v[o + 1], v[o + 2]);
    const rejection = acceptRecord(delta, index, run.domainOf(r)!, v[o], region, null, v[o + 3], v[o + 4], v[o + 5], policy, nowMs);
    if (rejection) delta.rejections.push({ ...rejection, index: batch ? r - start : null, offset: BigInt(message.offset), value: message.value });
  }
  return true;
}

/** domain → region → bucket start → entry: no composite string key built per record. */
type BucketIndex = Map<string, Map<string, Map<number, { key: BucketKey; bucket: DemandBucket }>>>;

/**
 * Counts one valid record in its bucket, or says why not. `region` is undefined for a POP nobody
 * configured (`client` then names it).
 */
function acceptRecord(
  delta: PartitionDelta,
  index: BucketIndex,
  domain: string,
  ts: number,
  region: string | undefined,
  client: TelemetryRecord['client'] | null,
  status: number,
  latencyMs: number,
  bytes: number,
  policy: AggregationPolicy,
  nowMs: number,
): Omit<RecordRejection, 'index'> | null {
  if (ts > nowMs + policy.maxFutureSkewMs) {
    return { code: ErrorCodes.TELEMETRY_TOO_FAR_IN_FUTURE, reason: `timestamp ${new Date(ts).toISOString()} is later than the clock allows` };
  }
  const bucketStartMs = bucketStartOf(ts);
  const watermark = watermarkOf(delta.progress, policy);
  if (bucketStartMs + BUCKET_MS <= watermark) {
    return {
      code: ErrorCodes.TELEMETRY_LATE,
      reason: `bucket ${new Date(bucketStartMs).toISOString()} closed at watermark ${new Date(watermark).toISOString()}`,
    };
  }
  if (region === undefined) {
    const pop = client && 'pop' in client ? client.pop : undefined;
    return { code: ErrorCodes.TELEMETRY_UNKNOWN_POP, reason: `edge POP ${JSON.stringify(pop)} is not configured` };
  }
  let byRegion = index.get(domain);
  if (!byRegion) index.set(domain, (byRegion = new Map()));
  let byStart = byRegion.get(region);
  if (!byStart) byRegion.set(region, (byStart = new Map()));
  let entry = byStart.get(bucketStartMs);
  if (!entry) {
    entry = { key: { domain, region, bucketStartMs }, bucket: emptyDemandBucket() };
    byStart.set(bucketStartMs, entry);
    delta.buckets.set(`${domain}\u0000${region}\u0000${bucketStartMs}`, entry);
  }
  addRequest(entry.bucket, status, latencyMs, bytes);
  // A producer clock running ahead (within the skew allowance) must not close everyone else's
  // buckets: the watermark never passes the wall clock. Old traces are unaffected (ts < now).
  const highMark = Math.min(ts, nowMs);
  if (highMark > delta.progress.maxEventTimeMs) delta.progress.maxEventTimeMs = highMark;
  delta.accepted += 1;
  return null;
}
