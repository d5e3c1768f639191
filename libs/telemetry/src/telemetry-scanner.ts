import { MAX_RECORDS_PER_MESSAGE as CONTRACT_MAX_RECORDS, TelemetryRecord } from '@shardcast/contracts';
import { commonRecordOf } from './common-record';

/**
 * Byte-level fast path for the two shapes edges send all day: one common record, or
 * `{"records":[...]}` of common records (ASCII domain, `{lat, lon}` client, epoch-ms timestamp).
 * It reads the message bytes in place: no UTF-8 string of the message, no parsed object tree,
 * about a quarter of `toString` + `JSON.parse` + the hand check, and far less garbage.
 *
 * It answers only when the slow path (JSON.parse + the contract schema) surely gives the same
 * records and no rejection; anything else — escapes, non-ASCII, duplicate or unknown keys,
 * malformed JSON, an invalid value, one bad record in a batch — returns undefined and the slow
 * path decides, so every rejection and its reason still come from the contract schema alone.
 * A property test holds the two paths to the same output on valid, hostile and mutated input.
 */
export interface ScannedTelemetryMessage {
  records: TelemetryRecord[];
  batch: boolean;
}

// A local copy: CommonJS re-exports are getters, too slow to call per record.
const MAX_RECORDS_PER_MESSAGE = CONTRACT_MAX_RECORDS;
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, k) => 10 ** k);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const enum Field {
  None = 0,
  Domain = 1,
  Timestamp = 2,
  Client = 4,
  Status = 8,
  LatencyMs = 16,
  Bytes = 32,
  All = 63,
  Lat = 64,
  Lon = 128,
  Records = 256,
}

const name = (text: string) => Buffer.from(text, 'latin1');
const DOMAIN = name('domain');
const CLIENT = name('client');
const STATUS = name('status');
const TIMESTAMP = name('timestamp');
const LATENCY_MS = name('latencyMs');
const BYTES = name('bytes');
const LAT = name('lat');
const LON = name('lon');
const RECORDS = name('records');

/** The field a key's bytes name: picked by length and a letter, then compared in full. */
function fieldOf(b: Buffer, start: number, length: number): Field {
  let candidate: Buffer;
  let field: Field;
  const first = b[start];
  switch (length) {
    case 3:
      if (first !== 0x6c) return Field.None;
      [candidate, field] = b[start + 2] === 0x74 ? [LAT, Field.Lat] : [LON, Field.Lon];
      break;
    case 5:
      [candidate, field] = [BYTES, Field.Bytes];
      break;
    case 6:
      if (first === 0x64) [candidate, field] = [DOMAIN, Field.Domain];
      else if (first === 0x63) [candidate, field] = [CLIENT, Field.Client];
      else [candidate, field] = [STATUS, Field.Status];
      break;
    case 7:
      [candidate, field] = [RECORDS, Field.Records];
      break;
    case 9:
      [candidate, field] = first === 0x74 ? [TIMESTAMP, Field.Timestamp] : [LATENCY_MS, Field.LatencyMs];
      break;
    default:
      return Field.None;
  }
  for (let i = 0; i < length; i++) if (b[start + i] !== candidate[i]) return Field.None;
  return field;
}

/** Parser state for one message; a failed step sets `ok` false and the caller gives up. */
class Scan {
  ok = true;
  /**
   * Reads `buf` from `pos` up to `end` only: a message may sit inside a larger buffer (a packed
   * batch). Every read is bounded by `end`, and a result needs `pos === end` at the close, so the
   * bytes of the neighbouring message can't make a record (tested with adversarial neighbours).
   */
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  ws(): void {
    const b = this.buf;
    let p = this.pos;
    while (p < this.end) {
      const c = b[p];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.pos = p;
  }

  /** Consumes `byte` (after optional whitespace) or fails. */
  expect(byte: number): boolean {
    this.ws();
    if (this.pos >= this.end || this.buf[this.pos] !== byte) return (this.ok = false);
    this.pos++;
    return true;
  }

  /** Reads `"name"` and `:`; returns the field it names, or None (unknown, escaped or broken). */
  key(): Field {
    if (!this.expect(QUOTE)) return Field.None;
    const b = this.buf;
    const start = this.pos;
    let p = start;
    while (p < this.end && b[p] !== QUOTE) {
      if (b[p] === BACKSLASH) return this.fail();
      p++;
    }
    if (p >= this.end) return this.fail();
    this.pos = p + 1;
    const field = fieldOf(b, start, p - start);
    if (field === Field.None || !this.expect(COLON)) return this.fail();
    return field;
  }

  /** A printable-ASCII string without escapes (anything else is the slow path's). */
  asciiString(): string | undefined {
    if (!this.expect(QUOTE)) return undefined;
    const b = this.buf;
    const start = this.pos;
    let p = start;
    for (;;) {
      if (p >= this.end) return void this.fail();
      const c = b[p];
      if (c === QUOTE) break;
      if (c < 0x20 || c > 0x7e || c === BACKSLASH) return void this.fail();
      p++;
    }
    this.pos = p + 1;
    return b.toString('latin1', start, p);
  }

  /**
   * A JSON number, checked against the JSON grammar (Number() alone accepts `01`, `.5`, `1.`).
   * Up to 15 significant digits without an exponent are computed exactly; others go through
   * Number(), which rounds decimal text to a double the same way JSON.parse does.
   */
  number(): number {
    this.ws();
    const b = this.buf;
    const end = this.end;
    const start = this.pos;
    let p = start;
    const negative = p < end && b[p] === MINUS;
    if (negative) p++;
    let c = p < end ? b[p] : -1;
    let value = 0;
    let digits = 0;
    if (c === ZERO) {
      p++;
      digits = 1;
    } else if (c > ZERO && c <= NINE) {
      while (p < end && (c = b[p]) >= ZERO && c <= NINE) {
        value = value * 10 + (c - ZERO);
        digits++;
        p++;
      }
    } else {
      this.ok = false;
      return NaN;
    }
    let exact = true;
    let fractionDigits = 0;
    if (p < end && b[p] === DOT) {
      p++;
      const fractionStart = p;
      while (p < end && (c = b[p]) >= ZERO && c <= NINE) {
        value = value * 10 + (c - ZERO);
        digits++;
        p++;
      }
      fractionDigits = p - fractionStart;
      if (fractionDigits === 0) return this.failNumber();
    }
    c = p < end ? b[p] : -1;
    if (c === 0x65 || c === 0x45) {
      exact = false;
      p++;
      if (p < end && (b[p] === PLUS || b[p] === MINUS)) p++;
      const exponentStart = p;
      while (p < end && (c = b[p]) >= ZERO && c <= NINE) p++;
      if (p === exponentStart) return this.failNumber();
    } else if (c >= ZERO && c <= NINE) {
      return this.failNumber(); // a leading zero followed by digits
    }
    this.pos = p;
    if (exact && digits <= 15) {
      // Clinger's fast path: mantissa and 10^k are exact doubles, so one division rounds correctly.
      const magnitude = fractionDigits === 0 ? value : value / POWERS_OF_TEN[fractionDigits];
      return negative ? -magnitude : magnitude;
    }
    return Number(b.toString('latin1', start, p));
  }

  /** `{"lat": n, "lon": n}` in either order, nothing else. */
  client(): { lat: number; lon: number } | undefined {
    if (!this.expect(LBRACE)) return undefined;
    let seen = Field.None;
    let lat = NaN;
    let lon = NaN;
    do {
      const field = this.key();
      if (field === Field.Lat && !(seen & Field.Lat)) lat = this.number();
      else if (field === Field.Lon && !(seen & Field.Lon)) lon = this.number();
      else return void this.fail();
      seen |= field;
      if (!this.ok) return undefined;
    } while (this.separator(RBRACE));
    return this.ok && seen === (Field.Lat | Field.Lon) ? { lat, lon } : undefined;
  }

  /** After a member: true on `,` (another follows), false on `close` (or on failure). */
  separator(close: number): boolean {
    this.ws();
    const c = this.pos < this.end ? this.buf[this.pos] : -1;
    this.pos++;
    if (c === COMMA) return true;
    if (c !== close) this.ok = false;
    return false;
  }

  /** One record object whose six members are all present and valid. */
  record(): TelemetryRecord | undefined {
    if (!this.expect(LBRACE)) return undefined;
    let seen = Field.None;
    let domain: string | undefined;
    let timestamp = NaN;
    let client: { lat: number; lon: number } | undefined;
    let status = NaN;
    let latencyMs = NaN;
    let bytes = NaN;
    do {
      const field = this.key();
      if (field & seen || field > Field.All || field === Field.None) return void this.fail();
      seen |= field;
      switch (field) {
        case Field.Domain:
          domain = this.asciiString();
          break;
        case Field.Timestamp:
          timestamp = this.number();
          break;
        case Field.Client:
          client = this.client();
          break;
        case Field.Status:
          status = this.number();
          break;
        case Field.LatencyMs:
          latencyMs = this.number();
          break;
        case Field.Bytes:
          bytes = this.number();
          break;
      }
      if (!this.ok) return undefined;
    } while (this.separator(RBRACE));
    if (!this.ok || seen !== Field.All || domain === undefined || client === undefined) return undefined;
    const record = commonRecordOf(domain, timestamp, client.lat, client.lon, status, latencyMs, bytes);
    if (!record) this.ok = false;
    return record;
  }

  /** True when only whitespace is left. */
  atEnd(): boolean {
    this.ws();
    return this.pos === this.end;
  }

  fail(): Field.None {
    this.ok = false;
    return Field.None;
  }

  failNumber(): number {
    this.ok = false;
    return NaN;
  }
}

/** Scans `value[start, end)`: the whole buffer, or one message inside a packed batch. */
export function scanTelemetryMessage(value: Buffer, start = 0, end = value.length): ScannedTelemetryMessage | undefined {
  const scan = new Scan(value, start, end);
  scan.ws();
  const objectStart = scan.pos;
  if (!scan.expect(LBRACE)) return undefined;
  scan.ws();
  if (!isRecordsKeyAt(value, scan.pos, end)) {
    scan.pos = objectStart;
    const record = scan.record();
    return record && scan.atEnd() ? { records: [record], batch: false } : undefined;
  }
  scan.key();
  if (!scan.expect(LBRACKET)) return undefined;
  const records: TelemetryRecord[] = [];
  do {
    const record = scan.record();
    if (!record || records.length === MAX_RECORDS_PER_MESSAGE) return undefined;
    records.push(record);
  } while (scan.separator(RBRACKET));
  if (!scan.ok || !scan.expect(RBRACE) || !scan.atEnd()) return undefined;
  return { records, batch: true };
}

const RECORDS_KEY = Buffer.from('"records"', 'latin1');

function isRecordsKeyAt(b: Buffer, pos: number, end: number): boolean {
  if (pos + RECORDS_KEY.length > end) return false;
  for (let i = 0; i < RECORDS_KEY.length; i++) if (b[pos + i] !== RECORDS_KEY[i]) return false;
  return true;
}
