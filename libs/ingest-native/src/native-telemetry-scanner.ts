import {
  NativeScan,
  normalizedDomainOf,
  PACKED_SCAN_LAYOUT,
  PackedPositions,
  PackedScan,
  PackedTelemetryScanner,
  PackedValue,
} from '@shardcast/telemetry';
import { AddonLoad, loadAddon } from './addon-loader';

/** What native/telemetry-scanner.c exports (see the API there). */
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
  /** telemetry-layout.h: checked against PACKED_SCAN_LAYOUT at load. */
  layout: Record<string, number>;
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

const { valuesPerRecord, domainFieldsPerRecord } = PACKED_SCAN_LAYOUT;

/**
 * The byte scanner in C over the messages of one packed buffer. It answers only where the
 * TypeScript scanner would; a record it answers for is then held to commonValuesValid and
 * normalizedDomainOf like every other fast path, and a message with a refused record goes to
 * decodeTelemetryMessage whole, so every rejection still comes from the contract schema.
 */
export class NativeTelemetryScanner implements PackedTelemetryScanner {
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
  return { starts, ends, kinds: new Uint8Array(count), recordEnds: new Int32Array(count), values: new Float64Array(valuesPerRecord * room), domains: new Int32Array(domainFieldsPerRecord * room) };
}

function viewOf(addon: NativeScannerAddon, buf: Buffer, { kinds, recordEnds, values, domains }: ScanArrays, records: number): NativeScan {
  const names = new Array<string | null | undefined>(records); // by the first record with the same domain bytes
  const domainOf = (r: number): string | null => {
    const first = domains[domainFieldsPerRecord * r + 2];
    const name = names[first];
    if (name !== undefined) return name;
    const start = domains[domainFieldsPerRecord * first];
    return (names[first] = normalizedDomainOf(buf.toString('latin1', start, start + domains[domainFieldsPerRecord * first + 1])));
  };
  let domainTable: { ids: Int32Array; names: string[] } | undefined;
  /** One id per normalised name (different spellings of one name share it), -1 for an invalid one; by first record. */
  const domainIds = () => {
    if (domainTable) return domainTable;
    const ids = new Int32Array(records);
    const byName = new Map<string, number>();
    const list: string[] = [];
    for (let r = 0; r < records; r++) {
      if (domains[domainFieldsPerRecord * r + 2] !== r) continue;
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

let scanner: NativeTelemetryScanner | undefined;

/** The native scanner, or why it cannot be used (not built, or built with another layout: see addon-loader.ts). */
export function loadNativeTelemetryScanner(): { scanner?: NativeTelemetryScanner; error?: string } {
  const { addon, error }: AddonLoad<NativeScannerAddon> = loadAddon('telemetry_scanner', PACKED_SCAN_LAYOUT);
  if (!addon) return { error };
  return { scanner: (scanner ??= new NativeTelemetryScanner(addon)) };
}
