import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { MAX_RECORDS_PER_MESSAGE } from '@shardcast/contracts';
import { normalizedDomainOf } from './common-record';

/** What libs/telemetry/native/telemetry-scanner.c exports (see the API there). */
interface NativeScannerAddon {
  scan(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number, kinds: Uint8Array, recordEnds: Int32Array, values: Float64Array, domains: Int32Array): number;
  scanAsync(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number, kinds: Uint8Array, recordEnds: Int32Array, values: Float64Array, domains: Int32Array): Promise<number>;
  maxRecordsPerMessage: number;
}

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
}

/** A scan of a partition run's messages: scanIndex[m] is message m's index in it, -1 when not scanned. */
export interface PackedScan extends NativeScan {
  scanIndex: Int32Array;
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
    const arrays = this.arraysFor(count, startOf, endOf);
    const records = this.addon.scan(buf, arrays.starts, arrays.ends, count, arrays.kinds, arrays.recordEnds, arrays.values, arrays.domains);
    return viewOf(buf, arrays, records);
  }

  /** Scans the messages of a partition run that sit in its first message's packed buffer, on this thread. */
  scanPacked(messages: readonly PackedValue[]): PackedScan | undefined {
    const run = pickPacked(messages);
    if (!run) return undefined;
    return Object.assign(this.scanRun(run.buf, run.picked.length, run.startOf, run.endOf), { scanIndex: run.scanIndex });
  }

  /** As scanPacked, on libuv's thread pool: the event loop meanwhile serves other partitions. */
  async scanPackedAsync(messages: readonly PackedValue[]): Promise<PackedScan | undefined> {
    const run = pickPacked(messages);
    if (!run) return undefined;
    const arrays = this.arraysFor(run.picked.length, run.startOf, run.endOf);
    const records = await this.addon.scanAsync(run.buf, arrays.starts, arrays.ends, run.picked.length, arrays.kinds, arrays.recordEnds, arrays.values, arrays.domains);
    return Object.assign(viewOf(run.buf, arrays, records), { scanIndex: run.scanIndex });
  }

  /** Fresh arrays per scan: scans of several partitions may run at once. */
  private arraysFor(count: number, startOf: (i: number) => number, endOf: (i: number) => number): ScanArrays {
    const starts = new Int32Array(count);
    const ends = new Int32Array(count);
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      starts[i] = startOf(i);
      ends[i] = endOf(i);
      bytes += ends[i] - starts[i];
    }
    const room = recordRoom(bytes);
    return { starts, ends, kinds: new Uint8Array(count), recordEnds: new Int32Array(count), values: new Float64Array(6 * room), domains: new Int32Array(3 * room) };
  }
}

function pickPacked(messages: readonly PackedValue[]) {
  const buf = messages.find((m) => m.valueBuffer !== undefined)?.valueBuffer;
  if (!buf) return undefined;
  const picked: number[] = [];
  const scanIndex = new Int32Array(messages.length).fill(-1);
  for (let m = 0; m < messages.length; m++) {
    if (messages[m].valueBuffer !== buf) continue;
    scanIndex[m] = picked.length;
    picked.push(m);
  }
  return { buf, picked, scanIndex, startOf: (i: number) => messages[picked[i]].valueStart!, endOf: (i: number) => messages[picked[i]].valueEnd! };
}

function viewOf(buf: Buffer, { kinds, recordEnds, values, domains }: ScanArrays, records: number): NativeScan {
  const names = new Array<string | null | undefined>(records); // by the first record with the same domain bytes
  return {
    kinds,
    recordEnds,
    values,
    recordStart: (i) => (i === 0 ? 0 : recordEnds[i - 1]),
    domainOf: (r) => {
      const first = domains[3 * r + 2];
      const name = names[first];
      if (name !== undefined) return name;
      return (names[first] = normalizedDomainOf(buf.toString('latin1', domains[3 * first], domains[3 * first] + domains[3 * first + 1])));
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
