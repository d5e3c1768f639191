import fc from 'fast-check';
import { MAX_RECORDS_PER_MESSAGE, TelemetryMessageSchema, TelemetryRecordSchema } from './telemetry-request';

const validRecord = {
  domain: 'App.Example.com',
  timestamp: 1_764_075_600_000,
  client: { lat: 50.11, lon: 8.68 },
  status: 200,
  latencyMs: 12.5,
  bytes: 5120,
};

const validRecordArb = fc.record({
  domain: fc.domain(),
  timestamp: fc.oneof(
    fc.integer({ min: 0, max: 4_102_444_800_000 }),
    fc
      .tuple(fc.date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }), fc.integer({ min: -12 * 60, max: 14 * 60 }))
      .map(([d, offsetMin]) => isoWithOffset(d, offsetMin)),
  ),
  client: fc.oneof(
    fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }) }),
    fc.record({ pop: fc.string({ minLength: 1, maxLength: 64 }) }),
  ),
  status: fc.integer({ min: 100, max: 599 }),
  latencyMs: fc.double({ min: 0, max: 3_600_000, noNaN: true }),
  bytes: fc.integer({ min: 0, max: 1e11 }),
});

/** ISO-8601 with an explicit ±hh:mm offset naming the same instant as `d`. */
function isoWithOffset(d: Date, offsetMin: number): string {
  const local = new Date(d.getTime() + offsetMin * 60_000).toISOString().slice(0, 23);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

describe('TelemetryRecordSchema', () => {
  it('accepts a valid record and normalises the domain', () => {
    const parsed = TelemetryRecordSchema.parse(validRecord);
    expect(parsed).toEqual({ ...validRecord, domain: 'app.example.com' });
  });

  it('accepts an edge POP id instead of coordinates', () => {
    expect(TelemetryRecordSchema.parse({ ...validRecord, client: { pop: 'fra1' } }).client).toEqual({ pop: 'fra1' });
  });

  it.each([
    ['epoch ms', 1_764_075_600_000, 1_764_075_600_000],
    ['ISO with Z', '2025-11-25T13:00:00Z', Date.UTC(2025, 10, 25, 13)],
    ['ISO with +01:00', '2025-11-25T14:00:00+01:00', Date.UTC(2025, 10, 25, 13)],
    ['ISO with -05:30 and ms', '2025-11-25T07:30:00.250-05:30', Date.UTC(2025, 10, 25, 13, 0, 0, 250)],
    ['epoch 0', 0, 0],
  ])('reads the timestamp as %s', (_name, timestamp, expectedMs) => {
    expect(TelemetryRecordSchema.parse({ ...validRecord, timestamp }).timestamp).toBe(expectedMs);
  });

  it('property: any valid record passes and its ISO timestamp becomes the same instant in epoch ms', () => {
    fc.assert(
      fc.property(validRecordArb, (record) => {
        const result = TelemetryRecordSchema.safeParse(record);
        expect(result.success).toBe(true);
        if (!result.success) return;
        const expectedMs = typeof record.timestamp === 'number' ? record.timestamp : Date.parse(record.timestamp);
        expect(result.data.timestamp).toBe(expectedMs);
        expect(Number.isInteger(result.data.timestamp)).toBe(true);
      }),
    );
  });

  const invalid: Array<[string, Record<string, unknown>]> = [
    ['invalid domain', { domain: 'not a domain' }],
    ['IP literal as domain', { domain: '10.0.0.1' }],
    ['domain not a string', { domain: 7 }],
    ['missing domain', { domain: undefined }],
    ['negative epoch', { timestamp: -1 }],
    ['fractional epoch', { timestamp: 1.5 }],
    ['epoch as numeric string', { timestamp: '1764075600000' }],
    ['ISO without zone', { timestamp: '2025-11-25T13:00:00' }],
    ['date only', { timestamp: '2025-11-25' }],
    ['impossible date', { timestamp: '2025-13-45T13:00:00Z' }],
    ['missing timestamp', { timestamp: undefined }],
    ['latitude above 90', { client: { lat: 90.5, lon: 0 } }],
    ['longitude below -180', { client: { lat: 0, lon: -180.1 } }],
    ['latitude only', { client: { lat: 10 } }],
    ['lat/lon as strings', { client: { lat: '10', lon: '20' } }],
    ['both coordinates and POP', { client: { lat: 10, lon: 20, pop: 'fra1' } }],
    ['empty POP', { client: { pop: '' } }],
    ['POP too long', { client: { pop: 'p'.repeat(65) } }],
    ['client IP instead of location', { client: { ip: '203.0.113.7' } }],
    ['missing client', { client: undefined }],
    ['status 99', { status: 99 }],
    ['status 600', { status: 600 }],
    ['fractional status', { status: 200.5 }],
    ['negative latency', { latencyMs: -0.1 }],
    ['latency over an hour', { latencyMs: 3_600_001 }],
    ['fractional bytes', { bytes: 1.5 }],
    ['negative bytes', { bytes: -1 }],
    ['bytes over 1e11', { bytes: 1e11 + 1 }],
    ['unknown key', { ip: '203.0.113.7' }],
  ];
  it.each(invalid)('rejects %s', (_name, patch) => {
    const record: Record<string, unknown> = { ...validRecord, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete record[k];
    expect(TelemetryRecordSchema.safeParse(record).success).toBe(false);
  });

  it('property: every accepted timestamp is an instant a Date can hold (rejection reasons format it)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 8.64e15 - 10, max: 8.64e15 + 10 })), (timestamp) => {
        const result = TelemetryRecordSchema.safeParse({ ...validRecord, timestamp });
        if (result.success) expect(() => new Date(result.data.timestamp).toISOString()).not.toThrow();
      }),
    );
    expect(TelemetryRecordSchema.safeParse({ ...validRecord, timestamp: 8_640_000_000_000_001 }).success).toBe(false);
    expect(TelemetryRecordSchema.safeParse({ ...validRecord, timestamp: '+275760-09-13T00:00:00.001Z' }).success).toBe(false);
  });

  it('property: non-finite or NaN numbers never pass', () => {
    fc.assert(
      fc.property(fc.constantFrom('latencyMs', 'bytes', 'status', 'timestamp'), fc.constantFrom(NaN, Infinity, -Infinity), (field, value) => {
        expect(TelemetryRecordSchema.safeParse({ ...validRecord, [field]: value }).success).toBe(false);
      }),
    );
  });
});

describe('TelemetryMessageSchema', () => {
  it('accepts a single record', () => {
    expect(TelemetryMessageSchema.safeParse(validRecord).success).toBe(true);
  });

  it('accepts a batch of 1 and of the maximum size', () => {
    expect(TelemetryMessageSchema.safeParse({ records: [validRecord] }).success).toBe(true);
    expect(TelemetryMessageSchema.safeParse({ records: Array.from({ length: MAX_RECORDS_PER_MESSAGE }, () => validRecord) }).success).toBe(true);
  });

  it.each([
    ['empty batch', { records: [] }],
    ['oversized batch', { records: Array.from({ length: MAX_RECORDS_PER_MESSAGE + 1 }, () => validRecord) }],
    ['records not an array', { records: validRecord }],
    ['batch with an extra key', { records: [validRecord], source: 'edge' }],
    ['a bare array', [validRecord]],
    ['null', null],
    ['a string', 'hello'],
  ])('rejects %s', (_name, message) => {
    expect(TelemetryMessageSchema.safeParse(message).success).toBe(false);
  });
});
