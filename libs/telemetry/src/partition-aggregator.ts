import { ErrorCodes, TelemetryRecord } from '@shardcast/contracts';
import { addRequest, DemandBucket, emptyDemandBucket } from './demand-bucket';
import { RegionLocator } from './region-locator';
import { DecodedTelemetryMessage, decodeTelemetryMessage, RecordRejection } from './telemetry-decoder';
import type { NativeTelemetryScanner } from './native-telemetry-scanner';

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
  scanner?: NativeTelemetryScanner,
): PartitionDelta {
  const delta: PartitionDelta = { buckets: new Map(), rejections: [], accepted: 0, skippedMessages: 0, progress: { ...progress } };
  const index: BucketIndex = new Map();
  // Offsets rise within a partition: only a leading run can be below the stored next offset, and
  // the per-message offsets are parsed only for that run, for rejections, and for the last one.
  let first = 0;
  while (first < messages.length && BigInt(messages[first].offset) < progress.nextOffset) first++;
  delta.skippedMessages = first;
  const prescanned = scanner ? prescan(scanner, messages, first) : undefined;
  let last: PartitionMessage | undefined;
  for (let m = first; m < messages.length; m++) {
    const message = messages[m];
    last = message;
    const packed = message.valueBuffer;
    const decoded =
      prescanned?.[m - first] ?? (packed === undefined ? decodeTelemetryMessage(message.value) : decodeTelemetryMessage(packed, message.valueStart, message.valueEnd));
    for (const rejection of decoded.rejections) delta.rejections.push({ ...rejection, offset: BigInt(message.offset), value: message.value });
    const records = decoded.records;
    for (let i = 0; i < records.length; i++) {
      const rejection = acceptRecord(delta, index, records[i], locator, policy, nowMs);
      if (rejection) delta.rejections.push({ ...rejection, index: decoded.batch ? decoded.positions[i] : null, offset: BigInt(message.offset), value: message.value });
    }
  }
  if (last) delta.progress.nextOffset = BigInt(last.offset) + 1n;
  return delta;
}

const SINGLE_POSITION: readonly number[] = Object.freeze([0]);
const positionsCache: number[][] = [];

/** Positions 0..n-1 of a batch's records, shared (never changed by readers). */
function positionsOf(n: number): readonly number[] {
  let positions = positionsCache[n];
  if (!positions && n <= 64) positions = positionsCache[n] = Array.from({ length: n }, (_, i) => i);
  return positions ?? Array.from({ length: n }, (_, i) => i);
}

/**
 * The native scanner's answers for messages[first..] that sit in the first such message's packed
 * buffer (a packed run shares one); undefined where JavaScript decodes.
 */
function prescan(scanner: NativeTelemetryScanner, messages: readonly PartitionMessage[], first: number): Array<DecodedTelemetryMessage | undefined> | undefined {
  const buf = messages[first]?.valueBuffer;
  if (!buf) return undefined;
  const picked: number[] = [];
  for (let m = first; m < messages.length; m++) if (messages[m].valueBuffer === buf) picked.push(m);
  const scanned = scanner.scan(buf, picked.length, (i) => messages[picked[i]].valueStart!, (i) => messages[picked[i]].valueEnd!);
  const out: Array<DecodedTelemetryMessage | undefined> = new Array(messages.length - first);
  for (let i = 0; i < picked.length; i++) {
    const s = scanned[i];
    if (s) out[picked[i] - first] = { records: s.records, positions: s.batch ? positionsOf(s.records.length) : SINGLE_POSITION, batch: s.batch, rejections: [] };
  }
  return out;
}

/** domain → region → bucket start → entry: no composite string key built per record. */
type BucketIndex = Map<string, Map<string, Map<number, { key: BucketKey; bucket: DemandBucket }>>>;

function acceptRecord(
  delta: PartitionDelta,
  index: BucketIndex,
  record: TelemetryRecord,
  locator: RegionLocator,
  policy: AggregationPolicy,
  nowMs: number,
): Omit<RecordRejection, 'index'> | null {
  const ts = record.timestamp;
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
  let region: string;
  if ('pop' in record.client) {
    const popRegion = locator.forPop(record.client.pop);
    if (popRegion === undefined) return { code: ErrorCodes.TELEMETRY_UNKNOWN_POP, reason: `edge POP ${JSON.stringify(record.client.pop)} is not configured` };
    region = popRegion;
  } else {
    region = locator.nearest(record.client.lat, record.client.lon);
  }
  let byRegion = index.get(record.domain);
  if (!byRegion) index.set(record.domain, (byRegion = new Map()));
  let byStart = byRegion.get(region);
  if (!byStart) byRegion.set(region, (byStart = new Map()));
  let entry = byStart.get(bucketStartMs);
  if (!entry) {
    entry = { key: { domain: record.domain, region, bucketStartMs }, bucket: emptyDemandBucket() };
    byStart.set(bucketStartMs, entry);
    delta.buckets.set(`${record.domain}\u0000${region}\u0000${bucketStartMs}`, entry);
  }
  addRequest(entry.bucket, record.status, record.latencyMs, record.bytes);
  // A producer clock running ahead (within the skew allowance) must not close everyone else's
  // buckets: the watermark never passes the wall clock. Old traces are unaffected (ts < now).
  const highMark = Math.min(ts, nowMs);
  if (highMark > delta.progress.maxEventTimeMs) delta.progress.maxEventTimeMs = highMark;
  delta.accepted += 1;
  return null;
}
