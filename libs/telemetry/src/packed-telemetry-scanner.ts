import { MAX_RECORDS_PER_MESSAGE } from '@shardcast/contracts';

/**
 * The byte scanner and record aggregator over a packed batch, as ingest's hot path uses them.
 * libs/ingest-native implements it in C; the TypeScript scanner (telemetry-scanner.ts) and
 * aggregatePartitionMessages are the reference its differential tests hold it to. This lib
 * loads no addon: the app wires an implementation in.
 */
export interface PackedTelemetryScanner {
  /** Scans the messages of a partition run that sit in its first message's packed buffer, on this thread. */
  scanPacked(messages: readonly PackedValue[]): PackedScan | undefined;
  /** As scanPacked, off the event loop, which meanwhile serves other partitions. */
  scanPackedAsync(messages: readonly PackedValue[]): Promise<PackedScan | undefined>;
  /** As scanPackedAsync, over the messages' values given as columns: no message object is read. */
  scanPositionsAsync(positions: PackedPositions): Promise<PackedScan>;
}

/**
 * How scans and aggregations are laid out in their typed arrays: the source of truth for the C
 * implementation too (libs/ingest-native/native/telemetry-layout.h), whose loader refuses an
 * addon built with other values.
 */
export const PACKED_SCAN_LAYOUT = {
  maxRecordsPerMessage: MAX_RECORDS_PER_MESSAGE,
  /** Record r: values[6r..6r+5] = timestamp, lat, lon, status, latencyMs, bytes. */
  valuesPerRecord: 6,
  /** Record r: domains[3r..3r+2] = start, length, first record with the same domain bytes. */
  domainFieldsPerRecord: 3,
  /** kinds[i]: 0 not answered, else one record or a `{"records": [...]}` batch. */
  kindRecord: 1,
  kindBatch: 2,
  /** See AggregatedScan. */
  groupFields: 15,
  /** The numbers of NativeAggregationInput, as the aggregator reads them. */
  aggregationParams: 11,
  rejectionFields: 3,
  rejectedTooFarInFuture: 1,
  rejectedLate: 2,
} as const;

export const GROUP_FIELDS = PACKED_SCAN_LAYOUT.groupFields;

/** What to aggregate against: see AggregatedScan. */
export interface NativeAggregationInput {
  /** The partition's event-time high mark so far (-Infinity before any record). */
  maxEventTimeMs: number;
  allowedLatenessMs: number;
  nowMs: number;
  maxFutureSkewMs: number;
  bucketMs: number;
  /** Region coordinates (lat, lon per region) and the locator's cell cache. */
  regions: Float64Array;
  cellCache: Int32Array;
  /** The latency sketch's key mapping: key = ceil(log2(v) * multiplier) + offset above minPossible. */
  sketchKey: { multiplier: number; offset: number; minPossible: number };
  limits: { maxEventTimeMs: number; maxLatencyMs: number; maxRecordBytes: number };
}

/**
 * What aggregateScanned did with scanned messages from..to-1: it took the first `messages` of them
 * whole. Bucket b: groups[GROUP_FIELDS*b ...] = domain (index into domainNames), region (index
 * into the regions), bucket start, requests, errors, bytes high (the byte total, an exact
 * uint64 sum, divided by 2^32, floored), latency max, zero count, min, max, sum, minKey, bin count,
 * bin start (into bins), bytes low (the total mod 2^32). Rejections: record, code (rejectedTooFarInFuture
 * or rejectedLate), watermark, per rejected record.
 */
export interface AggregatedScan {
  messages: number;
  accepted: number;
  maxEventTimeMs: number;
  groups: Float64Array;
  bins: Float64Array;
  rejections: Float64Array;
  domainNames: readonly string[];
}

/**
 * What the scanner found in a run of messages: views over arrays the scan filled. Message i:
 * kinds[i] (0 not answered, kindRecord, kindBatch), records recordStart(i)..recordEnds[i].
 * Record r: values[6r..6r+5] = timestamp, lat, lon, status, latencyMs, bytes; domainOf(r) its
 * normalised domain, or null when the schema would refuse it.
 */
export interface NativeScan {
  kinds: Uint8Array;
  recordEnds: Int32Array;
  values: Float64Array;
  recordStart(i: number): number;
  domainOf(r: number): string | null;
  /**
   * Counts scanned messages from..to-1 per bucket, stopping before the first one it cannot take
   * whole; the same decisions as acceptRecord, record by record.
   */
  aggregate(from: number, to: number, input: NativeAggregationInput): AggregatedScan;
}

/**
 * A scan of a partition run's messages: scanIndex[m] is message m's index in it, -1 when not
 * scanned; messageOf[i] is the run message of scanned message i.
 */
export interface PackedScan extends NativeScan {
  scanIndex: Int32Array;
  messageOf: Int32Array;
}

/**
 * Where each message's value sits in one packed buffer, as columns (the librdkafka consumer makes
 * them): message m is buffer[starts[m], ends[m]), or null when starts[m] is -1.
 */
export interface PackedPositions {
  buffer: Buffer;
  starts: Int32Array;
  ends: Int32Array;
}

/** Where a message's value sits in a packed batch (PartitionMessage has these). */
export interface PackedValue {
  valueBuffer?: Buffer;
  valueStart?: number;
  valueEnd?: number;
}
