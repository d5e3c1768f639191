import * as contracts from '@shardcast/contracts';
import { ErrorCodes, TelemetryRecord } from '@shardcast/contracts';
import { addRequest, byteTotalOfHighLow, DemandBucket, demandBucketFromCounts, emptyDemandBucket, latencySketchKeyMapping, mergeDemandBuckets } from './demand-bucket';
import { RegionLocator } from './region-locator';
import { decodeTelemetryMessage, RecordRejection } from './telemetry-decoder';
import { GROUP_FIELDS, PACKED_SCAN_LAYOUT, PackedScan } from './packed-telemetry-scanner';

const LIMITS = { maxEventTimeMs: contracts.MAX_EVENT_TIME_MS, maxLatencyMs: contracts.MAX_LATENCY_MS, maxRecordBytes: contracts.MAX_RECORD_BYTES };
let sketchKey: ReturnType<typeof latencySketchKeyMapping> | undefined;

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

/**
 * A run's messages as columns (the librdkafka consumer's PackedRun): no object per message on the
 * hot path; message(m) builds one for a message that is decoded in TypeScript or rejected.
 */
export interface MessageColumns {
  count: number;
  offset(m: number): bigint | string | number;
  message(m: number): PartitionMessage;
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
  run: readonly PartitionMessage[] | MessageColumns,
  locator: RegionLocator,
  policy: AggregationPolicy,
  nowMs: number,
  /** A PackedTelemetryScanner's answers for these messages (its scanPacked/scanPackedAsync/scanPositionsAsync). */
  native?: PackedScan,
): PartitionDelta {
  const messages = 'message' in run ? run : listColumns(run);
  const delta: PartitionDelta = { buckets: new Map(), rejections: [], accepted: 0, skippedMessages: 0, progress: { ...progress } };
  const index: BucketIndex = new Map();
  // Offsets rise within a partition: only a leading run can be below the stored next offset, and
  // the per-message offsets are parsed only for that run, for rejections, and for the last one.
  let first = 0;
  while (first < messages.count && BigInt(messages.offset(first)) < progress.nextOffset) first++;
  delta.skippedMessages = first;
  // Scan index one past the current stretch of consecutive scanned messages: found once per
  // stretch, so a run C keeps stopping in (say every message from a POP client) stays linear.
  let stretchEnd = -1;
  for (let m = first; m < messages.count; ) {
    const i = native ? native.scanIndex[m] : -1;
    if (native && i >= 0 && native.kinds[i] !== 0) {
      if (i >= stretchEnd) {
        stretchEnd = i + 1;
        while (m + (stretchEnd - i) < messages.count && native.scanIndex[m + (stretchEnd - i)] === stretchEnd) stretchEnd++;
      }
      // Counted in C up to the first message it cannot take whole, which is decoded below.
      const taken = aggregateNatively(delta, native, i, stretchEnd, messages, locator, policy, nowMs);
      m += taken;
      if (taken === stretchEnd - i) continue;
    }
    const message = messages.message(m++);
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
  if (messages.count > first) delta.progress.nextOffset = BigInt(messages.offset(messages.count - 1)) + 1n;
  return delta;
}

/**
 * Counts scanned messages from..to-1 (scan indices) in C, as acceptRecord would record by record,
 * and merges its buckets into the delta; returns how many messages it took (it stops before the
 * first one with a record the checks refuse: that one is decoded and rejected in TypeScript).
 */
function aggregateNatively(
  delta: PartitionDelta,
  scan: PackedScan,
  from: number,
  to: number,
  messages: MessageColumns,
  locator: RegionLocator,
  policy: AggregationPolicy,
  nowMs: number,
): number {
  const { regions, cellCache } = locator.nativeTables();
  const run = scan.aggregate(from, to, {
    maxEventTimeMs: delta.progress.maxEventTimeMs,
    allowedLatenessMs: policy.allowedLatenessMs,
    nowMs,
    maxFutureSkewMs: policy.maxFutureSkewMs,
    bucketMs: BUCKET_MS,
    regions,
    cellCache,
    sketchKey: (sketchKey ??= latencySketchKeyMapping()),
    limits: LIMITS,
  });
  const { groups, bins } = run;
  for (let g = 0; g < groups.length; g += GROUP_FIELDS) {
    const binStart = groups[g + 13];
    const { bytes, bytesBig } = byteTotalOfHighLow(groups[g + 5], groups[g + 14]);
    const bucket = demandBucketFromCounts(
      { requests: groups[g + 3], errors: groups[g + 4], bytes, bytesBig, latencyMaxMs: groups[g + 6] },
      { zeroCount: groups[g + 7], min: groups[g + 8], max: groups[g + 9], sum: groups[g + 10], minKey: groups[g + 11], bins: bins.subarray(binStart, binStart + groups[g + 12]) },
    );
    // Groups are distinct within a call: looked up by id, without the per-record path's index
    // (two maps per domain per batch, most of them for one group over 100,000 domains).
    const domain = run.domainNames[groups[g]];
    const region = locator.regions[groups[g + 1]].id;
    const bucketStartMs = groups[g + 2];
    const id = `${domain}\u0000${region}\u0000${bucketStartMs}`;
    const entry = delta.buckets.get(id);
    if (entry) mergeDemandBuckets(entry.bucket, bucket); // counted before this call
    else delta.buckets.set(id, { key: { domain, region, bucketStartMs }, bucket });
  }
  const rejected = run.rejections;
  let i = from; // the scanned message holding record r: rejections come in record order
  for (let k = 0; k < rejected.length; k += PACKED_SCAN_LAYOUT.rejectionFields) {
    const r = rejected[k];
    while (scan.recordEnds[i] <= r) i++;
    const message = messages.message(scan.messageOf[i]);
    const ts = scan.values[PACKED_SCAN_LAYOUT.valuesPerRecord * r];
    const rejection = rejected[k + 1] === PACKED_SCAN_LAYOUT.rejectedTooFarInFuture ? tooFarInFuture(ts) : late(bucketStartOf(ts), rejected[k + 2]);
    delta.rejections.push({ ...rejection, index: scan.kinds[i] === PACKED_SCAN_LAYOUT.kindBatch ? r - scan.recordStart(i) : null, offset: BigInt(message.offset), value: message.value });
  }
  // Rejections of one call come in record order, and calls go in message order: the TypeScript
  // path interleaves them the same way (a message it decodes comes between two calls).
  delta.accepted += run.accepted;
  delta.progress.maxEventTimeMs = run.maxEventTimeMs;
  return run.messages;
}

const tooFarInFuture = (ts: number): Omit<RecordRejection, 'index'> => ({
  code: ErrorCodes.TELEMETRY_TOO_FAR_IN_FUTURE,
  reason: `timestamp ${new Date(ts).toISOString()} is later than the clock allows`,
});

const late = (bucketStartMs: number, watermark: number): Omit<RecordRejection, 'index'> => ({
  code: ErrorCodes.TELEMETRY_LATE,
  reason: `bucket ${new Date(bucketStartMs).toISOString()} closed at watermark ${new Date(watermark).toISOString()}`,
});

/**
 * The delta's entry for a bucket (created empty if new), for the per-record path: `index` finds
 * it without building its id per record. An entry the native path made is found by id, once.
 */
function entryFor(delta: PartitionDelta, index: BucketIndex, domain: string, region: string, bucketStartMs: number): { key: BucketKey; bucket: DemandBucket } {
  let byRegion = index.get(domain);
  if (!byRegion) index.set(domain, (byRegion = new Map()));
  let byStart = byRegion.get(region);
  if (!byStart) byRegion.set(region, (byStart = new Map()));
  let entry = byStart.get(bucketStartMs);
  if (!entry) {
    const id = `${domain}\u0000${region}\u0000${bucketStartMs}`;
    entry = delta.buckets.get(id);
    if (!entry) delta.buckets.set(id, (entry = { key: { domain, region, bucketStartMs }, bucket: emptyDemandBucket() }));
    byStart.set(bucketStartMs, entry);
  }
  return entry;
}

function listColumns(list: readonly PartitionMessage[]): MessageColumns {
  return { count: list.length, offset: (m) => list[m].offset, message: (m) => list[m] };
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
  if (ts > nowMs + policy.maxFutureSkewMs) return tooFarInFuture(ts);
  const bucketStartMs = bucketStartOf(ts);
  const watermark = watermarkOf(delta.progress, policy);
  if (bucketStartMs + BUCKET_MS <= watermark) return late(bucketStartMs, watermark);
  if (region === undefined) {
    const pop = client && 'pop' in client ? client.pop : undefined;
    return { code: ErrorCodes.TELEMETRY_UNKNOWN_POP, reason: `edge POP ${JSON.stringify(pop)} is not configured` };
  }
  addRequest(entryFor(delta, index, domain, region, bucketStartMs).bucket, status, latencyMs, bytes);
  // A producer clock running ahead (within the skew allowance) must not close everyone else's
  // buckets: the watermark never passes the wall clock. Old traces are unaffected (ts < now).
  const highMark = Math.min(ts, nowMs);
  if (highMark > delta.progress.maxEventTimeMs) delta.progress.maxEventTimeMs = highMark;
  delta.accepted += 1;
  return null;
}
