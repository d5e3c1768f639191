import fc from 'fast-check';
import { ErrorCodes, MAX_RECORDS_PER_MESSAGE, TelemetryRecordSchema } from '@shardcast/contracts';
import { decodeCommonRecord, decodeTelemetryMessage } from './telemetry-decoder';

const record = (patch: Record<string, unknown> = {}) => ({
  domain: 'app.example.com',
  timestamp: 1_764_075_600_000,
  client: { lat: 50.11, lon: 8.68 },
  status: 200,
  latencyMs: 12,
  bytes: 100,
  ...patch,
});
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

/** The outcome of a message rejected as a whole: no records, one rejection without an index. */
function expectWholeMessageRejected(decoded: ReturnType<typeof decodeTelemetryMessage>, code: string): void {
  expect(decoded.records).toEqual([]);
  expect(decoded.rejections).toEqual([{ index: null, code, reason: expect.any(String) }]);
}

describe('decodeTelemetryMessage', () => {
  it.each([
    ['null value (tombstone)', null],
    ['empty value', Buffer.alloc(0)],
  ])('rejects a %s as TELEMETRY_MALFORMED_JSON for the whole message', (_name, value) => {
    expectWholeMessageRejected(decodeTelemetryMessage(value), ErrorCodes.TELEMETRY_MALFORMED_JSON);
  });

  it.each(['{', '{"domain":', 'not json', '\u0000\u0001', '{"records":[}', "{'a':1}"])('rejects malformed JSON %j', (text) => {
    const decoded = decodeTelemetryMessage(Buffer.from(text));
    expect(decoded.records).toEqual([]);
    expect(decoded.rejections).toEqual([{ index: null, code: ErrorCodes.TELEMETRY_MALFORMED_JSON, reason: expect.stringContaining('not JSON') }]);
  });

  it('decodes a single record, normalising domain and timestamp', () => {
    const decoded = decodeTelemetryMessage(bytes(record({ domain: 'APP.Example.com.', timestamp: '2025-11-25T14:00:00+01:00' })));
    expect(decoded.rejections).toEqual([]);
    expect(decoded.records).toEqual([record({ timestamp: Date.UTC(2025, 10, 25, 13) })]);
  });

  it.each([
    ['invalid domain', record({ domain: '_bad_.example' }), ErrorCodes.TELEMETRY_INVALID_DOMAIN],
    ['invalid location', record({ client: { lat: 91, lon: 0 } }), ErrorCodes.TELEMETRY_INVALID_LOCATION],
    ['client IP', record({ client: { ip: '203.0.113.9' } }), ErrorCodes.TELEMETRY_INVALID_LOCATION],
    ['invalid status', record({ status: 1000 }), ErrorCodes.TELEMETRY_INVALID_RECORD],
    ['a JSON number', 42, ErrorCodes.TELEMETRY_INVALID_RECORD],
    ['a JSON array', [record()], ErrorCodes.TELEMETRY_INVALID_RECORD],
    ['JSON null', null, ErrorCodes.TELEMETRY_INVALID_RECORD],
  ])('rejects a single record with %s as %s and index null', (_name, value, code) => {
    const decoded = decodeTelemetryMessage(bytes(value));
    expect(decoded.records).toEqual([]);
    expect(decoded.rejections).toEqual([{ index: null, code, reason: expect.any(String) }]);
  });

  it('prefers the domain code when both domain and location are invalid', () => {
    const decoded = decodeTelemetryMessage(bytes(record({ client: { lat: 200, lon: 0 }, domain: 'x' })));
    expect(decoded.rejections.map((r) => r.code)).toEqual([ErrorCodes.TELEMETRY_INVALID_DOMAIN]);
  });

  it('keeps the valid members of a batch and rejects each bad one with its index and code', () => {
    const decoded = decodeTelemetryMessage(
      bytes({
        records: [
          record({ bytes: 1 }),
          record({ domain: 'no_underscores.example' }),
          record({ bytes: 2 }),
          record({ client: { pop: '' } }),
          'not a record',
          record({ bytes: 3, domain: 'bücher.example' }),
          record({ latencyMs: -5 }),
        ],
      }),
    );
    expect(decoded.records.map((r) => [r.bytes, r.domain])).toEqual([
      [1, 'app.example.com'],
      [2, 'app.example.com'],
      [3, 'xn--bcher-kva.example'],
    ]);
    expect(decoded.rejections.map(({ index, code }) => ({ index, code }))).toEqual([
      { index: 1, code: ErrorCodes.TELEMETRY_INVALID_DOMAIN },
      { index: 3, code: ErrorCodes.TELEMETRY_INVALID_LOCATION },
      { index: 4, code: ErrorCodes.TELEMETRY_INVALID_RECORD },
      { index: 6, code: ErrorCodes.TELEMETRY_INVALID_RECORD },
    ]);
    for (const r of decoded.rejections) expect(r.reason.length).toBeGreaterThan(0);
    // Each valid record keeps its position in the batch, so later rejections (late, unknown POP) can name it.
    expect(decoded.batch).toBe(true);
    expect(decoded.positions).toEqual([0, 2, 5]);
  });

  it('marks a single record as not a batch, and a one-record batch as a batch', () => {
    expect(decodeTelemetryMessage(bytes(record()))).toMatchObject({ batch: false, positions: [0] });
    expect(decodeTelemetryMessage(bytes({ records: [record()] }))).toMatchObject({ batch: true, positions: [0] });
  });

  it('rejects an empty batch as TELEMETRY_EMPTY_BATCH', () => {
    expectWholeMessageRejected(decodeTelemetryMessage(bytes({ records: [] })), ErrorCodes.TELEMETRY_EMPTY_BATCH);
  });

  it('accepts a batch of exactly the maximum size and rejects one more as TELEMETRY_BATCH_TOO_LARGE', () => {
    const full = decodeTelemetryMessage(bytes({ records: Array.from({ length: MAX_RECORDS_PER_MESSAGE }, (_, i) => record({ bytes: i })) }));
    expect(full.rejections).toEqual([]);
    expect(full.records).toHaveLength(MAX_RECORDS_PER_MESSAGE);
    const over = decodeTelemetryMessage(bytes({ records: Array.from({ length: MAX_RECORDS_PER_MESSAGE + 1 }, () => record()) }));
    expectWholeMessageRejected(over, ErrorCodes.TELEMETRY_BATCH_TOO_LARGE);
  });

  it.each([
    ['records not an array', { records: record() }],
    ['records is null', { records: null }],
    ['extra key beside records', { records: [record()], edge: 'fra1' }],
  ])('rejects a batch with %s as TELEMETRY_INVALID_RECORD', (_name, value) => {
    expectWholeMessageRejected(decodeTelemetryMessage(bytes(value)), ErrorCodes.TELEMETRY_INVALID_RECORD);
  });

  it('property: never throws on arbitrary bytes, and each message yields records or rejections', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (raw) => {
        const decoded = decodeTelemetryMessage(Buffer.from(raw));
        expect(Array.isArray(decoded.records)).toBe(true);
        expect(Array.isArray(decoded.rejections)).toBe(true);
        expect(decoded.records.length + decoded.rejections.length).toBeGreaterThan(0);
        for (const r of decoded.rejections) expect(Object.values(ErrorCodes)).toContain(r.code);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: never throws on arbitrary JSON; a batch yields exactly one outcome per member', () => {
    const member = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(record()), fc.record({ domain: fc.string(), client: fc.jsonValue({ maxDepth: 2 }) }));
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.array(member, { minLength: 1, maxLength: 20 }).map((records) => ({ records }))), (value) => {
        const decoded = decodeTelemetryMessage(bytes(value));
        expect(decoded.records.length + decoded.rejections.length).toBeGreaterThan(0);
        const isBatch = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 1 && Array.isArray((value as { records?: unknown }).records);
        if (isBatch) {
          const n = (value as { records: unknown[] }).records.length;
          expect(decoded.records.length + decoded.rejections.length).toBe(n);
          const indexes = decoded.rejections.map((r) => r.index);
          expect(new Set(indexes).size).toBe(indexes.length);
          for (const i of indexes) expect(i === null ? -1 : i).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });
});

describe('decodeCommonRecord (hot path)', () => {
  const near = fc.record({
    domain: fc.oneof(fc.constantFrom('app.example.com', 'App.Example.COM.', 'bücher.example', 'bad_domain!.com', '1.2.3.4', 'x'), fc.string()),
    timestamp: fc.oneof(fc.integer({ min: -5, max: 2 ** 53 - 1 }), fc.double(), fc.constant(253_402_300_799_999), fc.constant(253_402_300_800_000)),
    client: fc.oneof(
      fc.record({ lat: fc.double({ min: -100, max: 100 }), lon: fc.double({ min: -200, max: 200 }) }),
      fc.record({ pop: fc.string() }),
      fc.record({ lat: fc.integer(), lon: fc.integer(), extra: fc.integer() }),
    ),
    status: fc.oneof(fc.integer({ min: 0, max: 700 }), fc.double()),
    latencyMs: fc.oneof(fc.double({ min: -1, max: 4e6 }), fc.constant(Number.NaN)),
    bytes: fc.oneof(fc.integer({ min: -1, max: 2e11 }), fc.double()),
  });

  it('property: whenever it accepts a record, the contract schema accepts it with the same output', () => {
    fc.assert(
      fc.property(near, (raw) => {
        const fast = decodeCommonRecord(raw);
        const zod = TelemetryRecordSchema.safeParse(raw);
        if (fast) {
          expect(zod.success).toBe(true);
          expect(fast).toEqual(zod.data);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the common valid shape (so the hot path really is used)', () => {
    const raw = { domain: 'App.Example.com', timestamp: 1_700_000_000_000, client: { lat: 50.1, lon: 8.7 }, status: 200, latencyMs: 12.5, bytes: 512 };
    expect(decodeCommonRecord(raw)).toEqual({ ...raw, domain: 'app.example.com' });
  });
});
