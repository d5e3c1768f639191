import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { MAX_RECORDS_PER_MESSAGE, TelemetryRecord } from '@shardcast/contracts';
import { commonRecordOf } from './common-record';

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
 * The byte scanner in C over the messages of one packed buffer. Per message it answers with the
 * records the TypeScript scanner would give, or undefined where JavaScript must decode (the
 * native scanner did not answer, or commonRecordOf refused a value): the caller then runs
 * decodeTelemetryMessage, so every rejection still comes from the contract schema.
 */
export class NativeTelemetryScanner {
  private starts = new Int32Array(0);
  private ends = new Int32Array(0);
  private kinds = new Uint8Array(0);
  private recordEnds = new Int32Array(0);
  private values = new Float64Array(6 * INITIAL_RECORDS);
  private domains = new Int32Array(3 * INITIAL_RECORDS);

  constructor(private readonly addon: NativeScannerAddon) {}

  /**
   * Scans `buf[starts[i], ends[i])` for i < count. `out[i]` gets the message's records, or
   * undefined; `batch[i]` whether it was a `{"records": [...]}` batch.
   */
  scan(buf: Buffer, count: number, startOf: (i: number) => number, endOf: (i: number) => number): Array<{ records: TelemetryRecord[]; batch: boolean } | undefined> {
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
    this.addon.scan(buf, this.starts, this.ends, count, kinds, recordEnds, values, domains);
    const out: Array<{ records: TelemetryRecord[]; batch: boolean } | undefined> = new Array(count);
    const domainText: string[] = [];
    let r = 0;
    for (let i = 0; i < count; i++) {
      const kind = kinds[i];
      const end = recordEnds[i];
      if (kind === 0) {
        out[i] = undefined;
        continue;
      }
      const records: TelemetryRecord[] = [];
      let valid = true;
      for (; r < end; r++) {
        const first = domains[3 * r + 2];
        let domain = domainText[first];
        if (first === r) domain = domainText[r] = buf.toString('latin1', domains[3 * r], domains[3 * r] + domains[3 * r + 1]);
        const v = 6 * r;
        const record = valid ? commonRecordOf(domain, values[v], values[v + 1], values[v + 2], values[v + 3], values[v + 4], values[v + 5]) : undefined;
        if (record) records.push(record);
        else valid = false; // the rest of this message's records still name their domains above
      }
      out[i] = valid ? { records, batch: kind === 2 } : undefined;
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
