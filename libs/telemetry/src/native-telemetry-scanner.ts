import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { MAX_RECORDS_PER_MESSAGE, TelemetryRecord } from '@shardcast/contracts';
import { commonValuesValid, normalizedDomainOf } from './common-record';

/** What libs/telemetry/native/telemetry-scanner.c exports (see the API there). */
interface NativeScannerAddon {
  scan(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number, kinds: Uint8Array, recordEnds: Int32Array, values: Float64Array, domains: Int32Array): number;
  maxRecordsPerMessage: number;
}

const ADDON = 'telemetry_scanner.node';

/** From src/ (tests) and from dist/src/ (the built services). */
function addonPath(): string | undefined {
  return [resolve(__dirname, '..', 'native', 'build', ADDON), resolve(__dirname, '..', '..', 'native', 'build', ADDON)].find((p) => existsSync(p));
}

/** Room for this many records per call before the arrays grow (a value holds at least one). */
const INITIAL_RECORDS = 1 << 14;

/**
 * What the C scanner found in a run of messages: views over the scanner's arrays, valid until its
 * next call. Message i: kinds[i] (0 not answered, 1 one record, 2 a batch), records
 * recordStart(i)..recordEnds[i]. Record r: values[6r..6r+5] = timestamp, lat, lon, status,
 * latencyMs, bytes; domainOf(r) its normalised domain, or null when the schema would refuse it.
 */
export interface NativeScan {
  kinds: Uint8Array;
  recordEnds: Int32Array;
  values: Float64Array;
  recordStart(i: number): number;
  domainOf(r: number): string | null;
}

/**
 * The byte scanner in C over the messages of one packed buffer. It answers only where the
 * TypeScript scanner would; a record it answers for is then held to commonValuesValid and
 * normalizedDomainOf like every other fast path, and a message with a refused record goes to
 * decodeTelemetryMessage whole, so every rejection still comes from the contract schema.
 */
export class NativeTelemetryScanner {
  private starts = new Int32Array(0);
  private ends = new Int32Array(0);
  private kinds = new Uint8Array(0);
  private recordEnds = new Int32Array(0);
  private values = new Float64Array(6 * INITIAL_RECORDS);
  private domains = new Int32Array(3 * INITIAL_RECORDS);

  constructor(private readonly addon: NativeScannerAddon) {}

  /** Scans `buf[startOf(i), endOf(i))` for i < count in one native call. */
  scanRun(buf: Buffer, count: number, startOf: (i: number) => number, endOf: (i: number) => number): NativeScan {
    if (this.starts.length < count) {
      const size = Math.max(count, 2 * this.starts.length);
      this.starts = new Int32Array(size);
      this.ends = new Int32Array(size);
      this.kinds = new Uint8Array(size);
      this.recordEnds = new Int32Array(size);
    }
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      this.starts[i] = startOf(i);
      this.ends[i] = endOf(i);
      bytes += this.ends[i] - this.starts[i];
    }
    // A record takes more than 60 bytes: this fits every record of the run; a shortfall would
    // only leave the last messages to JavaScript.
    const needed = Math.ceil(bytes / 60);
    if (this.values.length < 6 * needed) {
      this.values = new Float64Array(6 * needed);
      this.domains = new Int32Array(3 * needed);
    }
    const { kinds, recordEnds, values, domains } = this;
    const records = this.addon.scan(buf, this.starts, this.ends, count, kinds, recordEnds, values, domains);
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

  /** The records of each message as the TypeScript scanner gives them, or undefined (JavaScript decides). */
  scan(buf: Buffer, count: number, startOf: (i: number) => number, endOf: (i: number) => number): Array<{ records: TelemetryRecord[]; batch: boolean } | undefined> {
    const run = this.scanRun(buf, count, startOf, endOf);
    const out: Array<{ records: TelemetryRecord[]; batch: boolean } | undefined> = [];
    for (let i = 0; i < count; i++) {
      const records: TelemetryRecord[] = [];
      for (let r = run.recordStart(i); r < run.recordEnds[i]; r++) {
        const domain = run.domainOf(r);
        const v = run.values.subarray(6 * r, 6 * r + 6);
        if (domain !== null && commonValuesValid(v[0], v[1], v[2], v[3], v[4], v[5])) {
          records.push({ domain, timestamp: v[0], client: { lat: v[1], lon: v[2] }, status: v[3], latencyMs: v[4], bytes: v[5] });
        }
      }
      const answered = run.kinds[i] !== 0 && records.length === run.recordEnds[i] - run.recordStart(i);
      out.push(answered ? { records, batch: run.kinds[i] === 2 } : undefined);
    }
    return out;
  }
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
