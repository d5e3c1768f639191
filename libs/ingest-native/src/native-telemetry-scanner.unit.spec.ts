import fc from 'fast-check';
import { TelemetryRecord } from '@shardcast/contracts';
import { scanTelemetryMessage } from '@shardcast/telemetry';
import { commonValuesValid, describeScannerAgreement, recordText, validText } from '@shardcast/telemetry/testing';
import { loadNativeTelemetryScanner, NativeTelemetryScanner } from './native-telemetry-scanner';
import { propertyRuns } from '../test/property-runs';

const loadedNative = loadNativeTelemetryScanner();
if (!loadedNative.scanner) throw new Error(`the native scanner is part of what is tested: ${loadedNative.error}`);
const native: NativeTelemetryScanner = loadedNative.scanner;

/**
 * The C scanner's answer for each of `ranges` of `buf`, scanned in one call like a packed run, as
 * the TypeScript scanner's shape: the records, or undefined where JavaScript decides.
 */
function nativeScan(buf: Buffer, ranges: Array<[number, number]>): Array<{ records: TelemetryRecord[]; batch: boolean } | undefined> {
  const run = native.scanRun(buf, ranges.length, (i) => ranges[i][0], (i) => ranges[i][1]);
  return ranges.map((_, i) => {
    const records: TelemetryRecord[] = [];
    for (let r = run.recordStart(i); r < run.recordEnds[i]; r++) {
      const domain = run.domainOf(r);
      const [timestamp, lat, lon, status, latencyMs, bytes] = run.values.subarray(6 * r, 6 * r + 6);
      if (domain !== null && commonValuesValid(timestamp, lat, lon, status, latencyMs, bytes)) records.push({ domain, timestamp, client: { lat, lon }, status, latencyMs, bytes });
    }
    const answered = run.kinds[i] !== 0 && records.length === run.recordEnds[i] - run.recordStart(i);
    return answered ? { records, batch: run.kinds[i] === 2 } : undefined;
  });
}

describeScannerAgreement('the C scanner answers where scanTelemetryMessage does, with the same records', nativeScan);

describe('the C scanner over a packed run', () => {
  it('C scanner: a run of messages in one packed buffer gets, message by message, what the TypeScript scanner gives', () => {
    const message = fc.oneof(validText, recordText, fc.array(fc.oneof(validText, recordText), { minLength: 1, maxLength: 3 }).map((t) => `{"records":[${t.join(',')}]}`));
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 12 }), fc.constantFrom('', ',', '}', '7'), (texts, glue) => {
        const parts: Buffer[] = [];
        const ranges: Array<[number, number]> = [];
        let at = 0;
        for (const text of texts) {
          const bytes = Buffer.from(text);
          ranges.push([at, at + bytes.length]);
          parts.push(bytes, Buffer.from(glue));
          at += bytes.length + glue.length;
        }
        const packed = Buffer.concat(parts);
        const answers = nativeScan(packed, ranges);
        ranges.forEach(([start, end], i) => expect(answers[i]).toEqual(scanTelemetryMessage(packed, start, end)));
      }),
      { numRuns: propertyRuns(1000) },
    );
  });

  it('C scanner: answers for every valid message of a large run, sharing one string per distinct domain', () => {
    const one = (i: number) => `{"domain":"app${i % 7}.example.com","timestamp":${1_397_088_000_000 + i},"client":{"lat":${(i % 180) - 89.5},"lon":12.25},"status":200,"latencyMs":${i % 500},"bytes":${i}}`;
    const texts = Array.from({ length: 20_000 }, (_, i) => (i % 10 === 0 ? `{"records":[${one(i)},${one(i + 1)}]}` : one(i)));
    const packed = Buffer.from(texts.join(''));
    const ranges: Array<[number, number]> = [];
    let at = 0;
    for (const t of texts) ranges.push([at, (at += Buffer.byteLength(t))]);
    const answers = nativeScan(packed, ranges);
    expect(answers.every((a) => a !== undefined)).toBe(true);
    expect(answers.reduce((n, a) => n + a!.records.length, 0)).toBe(22_000);
    ranges.forEach(([start, end], i) => expect(answers[i]).toEqual(scanTelemetryMessage(packed, start, end)));
  });
});

describe('the C scanner reading long numbers', () => {
  const latencyOf = (text: string) => {
    const buf = Buffer.from(`{"domain":"a.example.com","timestamp":1,"client":{"lat":1,"lon":2},"status":200,"latencyMs":${text},"bytes":1}`);
    const run = native.scanRun(buf, 1, () => 0, () => buf.length);
    return run.kinds[0] === 0 ? undefined : run.values[4];
  };

  it('reads halfway points between doubles as JSON.parse does (ties to even)', () => {
    // 2^53 + 1 and + 3 sit exactly between two doubles; so does 2^54 + 2. The long double path must hand them to strtod.
    for (const text of ['9007199254740993', '9007199254740995', '18014398509481986', '4503599627370496.5', '4503599627370497.5', '0.1', '123456789012345678.9']) {
      expect(latencyOf(text)).toBe(JSON.parse(text));
    }
  });

  it('property: reads 16-19 significant digits, up to 27 after the point, exactly as JSON.parse', () => {
    const decimal = fc.tuple(fc.stringMatching(/^[1-9][0-9]{15,18}$/), fc.integer({ min: 0, max: 27 })).map(([digits, point]) =>
      point === 0 ? digits : point >= digits.length ? `0.${'0'.repeat(point - digits.length)}${digits}` : `${digits.slice(0, digits.length - point)}.${digits.slice(digits.length - point)}`,
    );
    fc.assert(
      fc.property(decimal, (text) => {
        expect(latencyOf(text)).toBe(JSON.parse(text));
      }),
      { numRuns: propertyRuns(20_000) },
    );
  });
});

