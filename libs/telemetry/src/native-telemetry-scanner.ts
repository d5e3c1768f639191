import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { MAX_RECORDS_PER_MESSAGE } from '@shardcast/contracts';
import { normalizedDomainOf } from './common-record';

/** What libs/telemetry/native/telemetry-scanner.c exports (see the API there). */
interface NativeScannerAddon {
  scan(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number, kinds: Uint8Array, recordEnds: Int32Array, values: Float64Array, domains: Int32Array): number;
  scanAsync(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number, kinds: Uint8Array, recordEnds: Int32Array, values: Float64Array, domains: Int32Array): Promise<number>;
  aggregate(
    values: Float64Array,
    domains: Int32Array,
    domainIds: Int32Array,
    kinds: Uint8Array,
    recordEnds: Int32Array,
    from: number,
    to: number,
    regions: Float64Array,
    cellCache: Int32Array,
    params: Float64Array,
  ): [number, number, number, Float64Array, Float64Array, Float64Array];
  maxRecordsPerMessage: number;
}

/** What to aggregate against: see AggregatedScan and telemetry-aggregator.c. */
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
 * into the regions), bucket start, requests, errors, bytes, latency max, zero count, min, max,
 * sum, minKey, bin count, bin start (into bins). Rejections: record, code (1 too far in the
 * future, 2 late), watermark, per rejected record.
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

export const GROUP_FIELDS = 14;

const ADDON = 'telemetry_scanner.node';

/** From src/ (tests) and from dist/src/ (the built services). */
function addonPath(): string | undefined {
  return [resolve(__dirname, '..', 'native', 'build', ADDON), resolve(__dirname, '..', '..', 'native', 'build', ADDON)].find((p) => existsSync(p));
}

/**
 * What the C scanner found in a run of messages: views over arrays the scan filled. Message i:
 * kinds[i] (0 not answered, 1 one record, 2 a batch), records recordStart(i)..recordEnds[i].
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
   * Counts scanned messages from..to-1 per bucket in C (telemetry-aggregator.c), stopping before
   * the first one it cannot take whole; the same decisions as acceptRecord, record by record.
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
interface PackedValue {
  valueBuffer?: Buffer;
  valueStart?: number;
  valueEnd?: number;
}

interface ScanArrays {
  starts: Int32Array;
  ends: Int32Array;
  kinds: Uint8Array;
  recordEnds: Int32Array;
  values: Float64Array;
  domains: Int32Array;
}

/** A record takes more than 60 bytes: room for every record of the run (a shortfall only leaves the last messages to JavaScript). */
const recordRoom = (bytes: number) => Math.max(16, Math.ceil(bytes / 60));

/**
 * The byte scanner in C over the messages of one packed buffer. It answers only where the
 * TypeScript scanner would; a record it answers for is then held to commonValuesValid and
 * normalizedDomainOf like every other fast path, and a message with a refused record goes to
 * decodeTelemetryMessage whole, so every rejection still comes from the contract schema.
 */
export class NativeTelemetryScanner {
  constructor(private readonly addon: NativeScannerAddon) {}

  /** Scans `buf[startOf(i), endOf(i))` for i < count, on this thread. */
  scanRun(buf: Buffer, count: number, startOf: (i: number) => number, endOf: (i: number) => number): NativeScan {
    const starts = Int32Array.from({ length: count }, (_, i) => startOf(i));
    const ends = Int32Array.from({ length: count }, (_, i) => endOf(i));
    const arrays = outputArrays(count, starts, ends);
    const records = this.addon.scan(buf, starts, ends, count, arrays.kinds, arrays.recordEnds, arrays.values, arrays.domains);
    return viewOf(this.addon, buf, arrays, records);
  }

  /** Scans the messages of a partition run that sit in its first message's packed buffer, on this thread. */
  scanPacked(messages: readonly PackedValue[]): PackedScan | undefined {
    const positions = positionsOf(messages);
    if (!positions) return undefined;
    const { picked, scanIndex } = pick(positions);
    const arrays = outputArrays(picked.count, picked.starts, picked.ends);
    const records = this.addon.scan(positions.buffer, picked.starts, picked.ends, picked.count, arrays.kinds, arrays.recordEnds, arrays.values, arrays.domains);
    return Object.assign(viewOf(this.addon, positions.buffer, arrays, records), { scanIndex, messageOf: picked.messageOf });
  }

  /** As scanPacked, on libuv's thread pool: the event loop meanwhile serves other partitions. */
  async scanPackedAsync(messages: readonly PackedValue[]): Promise<PackedScan | undefined> {
    const positions = positionsOf(messages);
    return positions && this.scanPositionsAsync(positions);
  }

  /** As scanPackedAsync, over the messages' values given as columns: no message object is read. */
  async scanPositionsAsync(positions: PackedPositions): Promise<PackedScan> {
    const { picked, scanIndex } = pick(positions);
    const arrays = outputArrays(picked.count, picked.starts, picked.ends);
    const records = await this.addon.scanAsync(positions.buffer, picked.starts, picked.ends, picked.count, arrays.kinds, arrays.recordEnds, arrays.values, arrays.domains);
    return Object.assign(viewOf(this.addon, positions.buffer, arrays, records), { scanIndex, messageOf: picked.messageOf });
  }
}

/** The values of `messages` that sit in the first one's packed buffer, as columns (-1: not there). */
function positionsOf(messages: readonly PackedValue[]): PackedPositions | undefined {
  const buffer = messages.find((m) => m.valueBuffer !== undefined)?.valueBuffer;
  if (!buffer) return undefined;
  const inBuffer = (m: PackedValue) => m.valueBuffer === buffer;
  return {
    buffer,
    starts: Int32Array.from(messages, (m) => (inBuffer(m) ? m.valueStart! : -1)),
    ends: Int32Array.from(messages, (m) => (inBuffer(m) ? m.valueEnd! : -1)),
  };
}

/**
 * The messages to scan (those with a value): their positions, and the two index maps between
 * run messages and scanned ones (scanIndex[m] -1 for a message not scanned).
 */
function pick({ starts, ends }: PackedPositions) {
  const n = starts.length;
  const scanIndex = new Int32Array(n);
  let count = 0;
  for (let m = 0; m < n; m++) scanIndex[m] = starts[m] < 0 ? -1 : count++;
  if (count === n) return { picked: { count, starts, ends, messageOf: scanIndex }, scanIndex }; // scanIndex is the identity
  const picked = { count, starts: new Int32Array(count), ends: new Int32Array(count), messageOf: new Int32Array(count) };
  for (let m = 0; m < n; m++) {
    const i = scanIndex[m];
    if (i < 0) continue;
    picked.starts[i] = starts[m];
    picked.ends[i] = ends[m];
    picked.messageOf[i] = m;
  }
  return { picked, scanIndex };
}

/** Fresh arrays per scan (scans of several partitions may run at once), sized for the bytes scanned. */
function outputArrays(count: number, starts: Int32Array, ends: Int32Array): ScanArrays {
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += ends[i] - starts[i];
  const room = recordRoom(bytes);
  return { starts, ends, kinds: new Uint8Array(count), recordEnds: new Int32Array(count), values: new Float64Array(6 * room), domains: new Int32Array(3 * room) };
}

function viewOf(addon: NativeScannerAddon, buf: Buffer, { kinds, recordEnds, values, domains }: ScanArrays, records: number): NativeScan {
  const names = new Array<string | null | undefined>(records); // by the first record with the same domain bytes
  const domainOf = (r: number): string | null => {
    const first = domains[3 * r + 2];
    const name = names[first];
    if (name !== undefined) return name;
    return (names[first] = normalizedDomainOf(buf.toString('latin1', domains[3 * first], domains[3 * first] + domains[3 * first + 1])));
  };
  let domainTable: { ids: Int32Array; names: string[] } | undefined;
  /** One id per normalised name (different spellings of one name share it), -1 for an invalid one; by first record. */
  const domainIds = () => {
    if (domainTable) return domainTable;
    const ids = new Int32Array(records);
    const byName = new Map<string, number>();
    const list: string[] = [];
    for (let r = 0; r < records; r++) {
      if (domains[3 * r + 2] !== r) continue;
      const name = domainOf(r);
      let id = name === null ? -1 : byName.get(name);
      if (id === undefined) {
        id = list.length;
        list.push(name!);
        byName.set(name!, id);
      }
      ids[r] = id;
    }
    return (domainTable = { ids, names: list });
  };
  return {
    kinds,
    recordEnds,
    values,
    recordStart: (i) => (i === 0 ? 0 : recordEnds[i - 1]),
    domainOf,
    aggregate: (from, to, input) => {
      const { ids, names: domainNames } = domainIds();
      const { sketchKey: k, limits: l } = input;
      const params = Float64Array.of(
        input.maxEventTimeMs,
        input.allowedLatenessMs,
        input.nowMs,
        input.maxFutureSkewMs,
        input.bucketMs,
        k.multiplier,
        k.offset,
        k.minPossible,
        l.maxEventTimeMs,
        l.maxLatencyMs,
        l.maxRecordBytes,
      );
      const [messages, accepted, maxEventTimeMs, groups, bins, rejections] = addon.aggregate(values, domains, ids, kinds, recordEnds, from, to, input.regions, input.cellCache, params);
      return { messages, accepted, maxEventTimeMs, groups, bins, rejections, domainNames };
    },
  };
}

let loaded: NativeTelemetryScanner | undefined;
let loadError: string | undefined;

/** The native scanner, or why it cannot be used (not built: see libs/telemetry/native/build.sh). */
export function loadNativeTelemetryScanner(): { scanner?: NativeTelemetryScanner; error?: string } {
  if (loaded || loadError) return { scanner: loaded, error: loadError };
  const path = addonPath();
  if (!path) {
    loadError = `${ADDON} is not built (npm run build builds it with gcc, see libs/telemetry/native/build.sh)`;
    return { error: loadError };
  }
  try {
    const addon = require(path) as NativeScannerAddon;
    if (addon.maxRecordsPerMessage !== MAX_RECORDS_PER_MESSAGE) {
      loadError = `${path} was built for batches of ${addon.maxRecordsPerMessage} records; the contract says ${MAX_RECORDS_PER_MESSAGE}`;
    } else {
      loaded = new NativeTelemetryScanner(addon);
    }
  } catch (err) {
    loadError = `${path} does not load: ${(err as Error).message.split('\n')[0]}`;
  }
  return { scanner: loaded, error: loadError };
}
