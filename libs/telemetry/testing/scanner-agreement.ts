/**
 * The byte scanner's agreement properties, shared by its tests here and by those of its native
 * implementation (libs/ingest-native), which must answer exactly where scanTelemetryMessage does.
 */
import fc from 'fast-check';
import { MAX_RECORDS_PER_MESSAGE } from '@shardcast/contracts';
import { decodeTelemetryMessage, decodeTelemetryMessageSlowly } from '../src/telemetry-decoder';
import { scanTelemetryMessage, ScannedTelemetryMessage } from '../src/telemetry-scanner';

/**
 * Another implementation of the scanner (the C one), run over message ranges of one buffer as over
 * a packed run: per range, what scanTelemetryMessage would return.
 */
/**
 * Runs per property, scaled by SHARDCAST_PROPERTY_RUNS_SCALE (default 1). Each run goes through the
 * zod slow path, which is slow in Jest's sandbox: these defaults keep the two suites that share the
 * properties under a minute each; fast-check seeds every run anew, so CI runs add up coverage.
 */
function runs(n: number): number {
  const scale = Number(process.env.SHARDCAST_PROPERTY_RUNS_SCALE ?? 1);
  if (!(scale > 0)) throw new Error(`SHARDCAST_PROPERTY_RUNS_SCALE=${process.env.SHARDCAST_PROPERTY_RUNS_SCALE}: expected a number > 0`);
  return Math.max(10, Math.round(n * scale));
}

export type ScanOfRanges = (buf: Buffer, ranges: Array<[number, number]>) => Array<ScannedTelemetryMessage | undefined>;

/**
 * The scanner may decline anything, but what it returns must be exactly what the slow path returns;
 * `other` (the C scanner) must answer exactly where the TypeScript scanner does, with the same records.
 */
function expectAgreement(text: string | Buffer, other?: ScanOfRanges): void {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  const slow = decodeTelemetryMessageSlowly(buf);
  const fast = scanTelemetryMessage(buf);
  if (other) expect(other(buf, [[0, buf.length]])[0]).toEqual(fast);
  if (fast) {
    expect(slow.rejections).toEqual([]);
    expect(fast.records).toEqual(slow.records); // toEqual compares numbers with Object.is: -0 ≠ 0
    expect(fast.batch).toBe(slow.batch);
  }
  expect(decodeTelemetryMessage(buf)).toEqual(slow);
  // Inside a packed batch (the librdkafka consumer's one buffer of values), bytes around the
  // message must never be read: suffixes that would extend a number, a string or the object.
  for (const suffix of EMBEDDING_SUFFIXES) {
    const packed = Buffer.concat([EMBEDDING_PREFIX, buf, suffix]);
    const start = EMBEDDING_PREFIX.length;
    const end = start + buf.length;
    expect(scanTelemetryMessage(packed, start, end)).toEqual(fast);
    if (other) expect(other(packed, [[start, end]])[0]).toEqual(fast);
    expect(decodeTelemetryMessage(packed, start, end)).toEqual(slow);
  }
}

const EMBEDDING_PREFIX = Buffer.from('{"records":[ ');
const EMBEDDING_SUFFIXES = ['7', '.5', 'e3', '"', '}', ']}', ' ', ',"x":1}', 'x'].map((s) => Buffer.from(s));

const whitespace = fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n', '  ');
const hostileDomain = fc.oneof(
  fc.constantFrom(
    'app.example.com',
    'APP.Example.COM.',
    'xn--bcher-kva.example',
    'bücher.example',
    '_bad_.example',
    `${'a'.repeat(64)}.com`,
    `${'a'.repeat(63)}.com`,
    '',
    'with space.com',
    'tab\t.com',
    'quote".com',
    'back\\slash.com',
    'a..b.com',
    '-lead.example.com',
    'localhost',
    '127.0.0.1',
  ),
  fc.domain(),
  fc.string({ maxLength: 30 }),
);
const jsonNumberText = fc.stringMatching(/^-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?$/);
const oddNumberText = fc.constantFrom('01', '.5', '1.', '+1', '1e', '1e+', '-', '0x10', 'Infinity', 'NaN', '1_000', '--1', '-01', '0.', '00');
const numberText = fc.oneof(
  { weight: 3, arbitrary: fc.double({ noNaN: true }).map((n) => JSON.stringify(n)) },
  { weight: 3, arbitrary: fc.integer({ min: -1, max: 2_000_000 }).map(String) },
  { weight: 2, arbitrary: jsonNumberText },
  { weight: 1, arbitrary: oddNumberText },
  { weight: 1, arbitrary: fc.constantFrom('-0', '1e21', '1.5e-7', '253402300799999', '253402300800000', '100000000000', '100000000001', '3600000', '3600000.0001', '9007199254740993', '"200"', 'null', 'true') },
);
const validRecord = fc.record({
  domain: fc.constantFrom('app.example.com', 'shop.example.org', 'API.Example.NET', 'xn--bcher-kva.example'),
  timestamp: fc.integer({ min: 0, max: 253_402_300_799_999 }),
  lat: fc.double({ min: -90, max: 90, noNaN: true }),
  lon: fc.double({ min: -180, max: 180, noNaN: true }),
  status: fc.integer({ min: 100, max: 599 }),
  latencyMs: fc.oneof(fc.integer({ min: 0, max: 3_600_000 }), fc.double({ min: 0, max: 3_600_000, noNaN: true })),
  bytes: fc.integer({ min: 0, max: 100_000_000_000 }),
});

/** A record's text from member texts, in any order, with any JSON whitespace, maybe with extras. */
export const recordText = fc
  .record({
    domain: fc.oneof(hostileDomain.map((d) => JSON.stringify(d)), fc.constantFrom('"app.example.com"', '123', 'null', '"app\\u002eexample.com"')),
    timestamp: numberText,
    lat: numberText,
    lon: numberText,
    status: numberText,
    latencyMs: numberText,
    bytes: numberText,
    order: fc.shuffledSubarray(['domain', 'timestamp', 'client', 'status', 'latencyMs', 'bytes'], { minLength: 5, maxLength: 6 }),
    clientOrder: fc.boolean(),
    extra: fc.constantFrom(null, null, null, '"pop":"fra"', '"domain":"other.example.com"', '"records":[]', '"x":1'),
    clientExtra: fc.constantFrom(null, null, null, '"pop":"fra"', '"lat":1'),
    ws: fc.array(whitespace, { minLength: 16, maxLength: 16 }),
  })
  .map((r) => {
    let w = 0;
    const s = () => r.ws[w++ % r.ws.length];
    const clientMembers = [`"lat"${s()}:${s()}${r.lat}`, `"lon":${s()}${r.lon}`];
    if (r.clientOrder) clientMembers.reverse();
    if (r.clientExtra) clientMembers.push(r.clientExtra);
    const values: Record<string, string> = {
      domain: r.domain,
      timestamp: r.timestamp,
      client: `{${s()}${clientMembers.join(`${s()},${s()}`)}${s()}}`,
      status: r.status,
      latencyMs: r.latencyMs,
      bytes: r.bytes,
    };
    const members = r.order.map((k) => `"${k}"${s()}:${s()}${values[k]}`);
    if (r.extra) members.push(r.extra);
    return `${s()}{${s()}${members.join(`${s()},${s()}`)}${s()}}${s()}`;
  });

export const validText = validRecord.map((r) =>
  JSON.stringify({ domain: r.domain, timestamp: r.timestamp, client: { lat: r.lat, lon: r.lon }, status: r.status, latencyMs: r.latencyMs, bytes: r.bytes }),
);

/**
 * The agreement properties of the byte scanner: scanTelemetryMessage against JSON.parse + the
 * contract schema, and, given `other`, another implementation against scanTelemetryMessage.
 */
export function describeScannerAgreement(title: string, other?: ScanOfRanges): void {
  describe(title, () => {
    it('takes every valid common record and every batch of them, and returns what JSON.parse + the schema return', () => {
      fc.assert(
        fc.property(fc.array(validText, { minLength: 1, maxLength: 5 }), fc.boolean(), (texts, asBatch) => {
          const text = asBatch ? `{"records":[${texts.join(',')}]}` : texts[0];
          expect(scanTelemetryMessage(Buffer.from(text))).toBeDefined();
          expectAgreement(text, other);
        }),
        { numRuns: runs(250) },
      );
    });

    it('agrees with the slow path on hostile records: any key order, whitespace, numbers, domains, extras', () => {
      fc.assert(fc.property(recordText, (text) => expectAgreement(text, other)), { numRuns: runs(1000) });
    });

    it('reads decimals of up to 15 digits exactly as JSON.parse does (the fast path), and longer ones too', () => {
      const decimal = fc
        .tuple(fc.integer({ min: 0, max: 3_599_999 }), fc.stringMatching(/^[0-9]{1,14}$/), fc.boolean())
        .map(([whole, fraction, negativeZero]) => (negativeZero && whole === 0 ? `-0.${fraction}` : `${whole}.${fraction}`));
      fc.assert(
        fc.property(decimal, decimal, (latency, lat) => {
          const lon = lat.startsWith('-') ? lat.slice(1) : `-${lat}`;
          const text = `{"domain":"a.example.com","timestamp":1,"client":{"lat":${Math.abs(Number(lat)) <= 90 ? lat : '1.5'},"lon":${Math.abs(Number(lon)) <= 180 ? lon : '-2.5'}},"status":200,"latencyMs":${latency.replace('-', '')},"bytes":1}`;
          const fast = scanTelemetryMessage(Buffer.from(text));
          const parsed = JSON.parse(text);
          expect(fast?.records[0].latencyMs).toBe(parsed.latencyMs);
          expect(fast?.records[0].client).toEqual(parsed.client);
          expectAgreement(text, other);
        }),
        { numRuns: runs(1000) },
      );
    });

    it('agrees with the slow path on hostile batches', () => {
      fc.assert(
        fc.property(fc.array(fc.oneof(recordText, validText), { minLength: 0, maxLength: 4 }), whitespace, fc.constantFrom('', ',"x":1', ',"records":[]'), (texts, w, tail) =>
          expectAgreement(`{${w}"records"${w}:${w}[${texts.join(`${w},`)}]${tail}${w}}`, other),
        ),
        { numRuns: runs(400) },
      );
    });

    it('agrees with the slow path after random byte edits of a valid message (truncation, insertion, replacement)', () => {
      fc.assert(
        fc.property(validText, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('replace', 'insert', 'delete', 'truncate'), (text, at, byte, edit) => {
          const bytes = [...Buffer.from(text)];
          const i = at % bytes.length;
          if (edit === 'replace') bytes[i] = byte;
          else if (edit === 'insert') bytes.splice(i, 0, byte);
          else if (edit === 'delete') bytes.splice(i, 1);
          else bytes.length = i;
          expectAgreement(Buffer.from(bytes), other);
        }),
        { numRuns: runs(1000) },
      );
    });

    it.each([
      ['a JSON number with a leading zero', '{"domain":"a.example.com","timestamp":01,"client":{"lat":1,"lon":2},"status":200,"latencyMs":1,"bytes":1}'],
      ['a trailing comma', '{"domain":"a.example.com","timestamp":1,"client":{"lat":1,"lon":2},"status":200,"latencyMs":1,"bytes":1,}'],
      ['a duplicate key', '{"domain":"a.example.com","timestamp":1,"timestamp":2,"client":{"lat":1,"lon":2},"status":200,"latencyMs":1,"bytes":1}'],
      ['an escaped domain', '{"domain":"a\\u002eexample.com","timestamp":1,"client":{"lat":1,"lon":2},"status":200,"latencyMs":1,"bytes":1}'],
      ['a POP client', '{"domain":"a.example.com","timestamp":1,"client":{"pop":"fra"},"status":200,"latencyMs":1,"bytes":1}'],
      ['an ISO timestamp', '{"domain":"a.example.com","timestamp":"2025-01-01T00:00:00Z","client":{"lat":1,"lon":2},"status":200,"latencyMs":1,"bytes":1}'],
      ['garbage after the object', '{"domain":"a.example.com","timestamp":1,"client":{"lat":1,"lon":2},"status":200,"latencyMs":1,"bytes":1} x'],
      ['an empty batch', '{"records":[]}'],
      ['a batch with another key', '{"records":[{"domain":"a.example.com","timestamp":1,"client":{"lat":1,"lon":2},"status":200,"latencyMs":1,"bytes":1}],"x":1}'],
    ])('declines %s (the slow path decides)', (_name, text) => {
      expect(scanTelemetryMessage(Buffer.from(text))).toBeUndefined();
      expectAgreement(text, other);
    });

    it('declines a batch over the record limit, as the schema rejects it', () => {
      const one = '{"domain":"a.example.com","timestamp":1,"client":{"lat":1,"lon":2},"status":200,"latencyMs":1,"bytes":1}';
      expect(scanTelemetryMessage(Buffer.from(`{"records":[${Array(MAX_RECORDS_PER_MESSAGE).fill(one).join(',')}]}`))?.records).toHaveLength(MAX_RECORDS_PER_MESSAGE);
      const over = `{"records":[${Array(MAX_RECORDS_PER_MESSAGE + 1).fill(one).join(',')}]}`;
      expect(scanTelemetryMessage(Buffer.from(over))).toBeUndefined();
      expectAgreement(over, other);
    });
  });
}
