import fc from 'fast-check';
import { DemandObservedSchema } from './demand-observed';
import { BIGINT_MAX_DECIMAL, BIGINT_MAX_DOUBLE, CountSchema, DecimalCountSchema, DomainFieldSchema, INT32_MAX, LargeCountSchema, PositiveInt32Schema, RegionIdSchema, textField, TimestampSchema } from './fields';
import { normalizeDomain } from './domain-name';

const observed = {
  domain: 'app.example.com',
  region: 'eu-west-1',
  bucketStart: '2026-11-25T12:00:00.000Z',
  bucketSeconds: 60,
  revision: 1,
  requests: 10,
  errors: 0,
  bytes: 5120,
  latencyMs: { p50: 1, p90: 2, p99: 3, max: 4 },
  latencySketch: '',
};

describe('contract fields refuse what storage would refuse', () => {
  it('accepts a valid demand.observed payload', () => {
    expect(DemandObservedSchema.safeParse(observed).success).toBe(true);
  });

  it.each([
    ['a region with a NUL byte', { region: 'eu-west-1\u0000' }],
    ['a region with upper case', { region: 'EU-WEST-1' }],
    ['a domain that is not normalised', { domain: 'App.Example.com' }],
    ['a Unicode domain (U-label)', { domain: 'bücher.example' }],
    ['an IP address as domain', { domain: '10.0.0.1' }],
    ['a revision past integer', { revision: INT32_MAX + 1 }],
    ['a fractional byte count', { bytes: 1.5 }],
    ['a count past 2^53', { requests: 2 ** 53 }],
    ['year 0', { bucketStart: '0000-01-01T00:00:00Z' }],
    ['a sketch that is not base64', { latencySketch: 'not base64!' }],
    ['bytes past what a bigint holds', { bytes: 2 ** 63 }],
    ['bytesExact past what a bigint holds', { bytesExact: '9223372036854775808' }],
    ['bytesExact with a leading zero', { bytesExact: '0123' }],
    ['bytesExact as a number', { bytesExact: 123 }],
    ['bytesExact negative', { bytesExact: '-1' }],
  ])('refuses %s', (_what, change) => {
    expect(DemandObservedSchema.safeParse({ ...observed, ...change }).success).toBe(false);
  });

  it('accepts a byte total past 2^53: bytes the nearest double, bytesExact the exact decimal (optional)', () => {
    expect(DemandObservedSchema.safeParse({ ...observed, bytes: Number('10000000000000003'), bytesExact: '10000000000000003' }).success).toBe(true);
    expect(DemandObservedSchema.safeParse({ ...observed, bytes: BIGINT_MAX_DOUBLE, bytesExact: BIGINT_MAX_DECIMAL }).success).toBe(true);
    expect(DemandObservedSchema.safeParse({ ...observed, bytesExact: '0' }).success).toBe(true);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n }), (n) => {
        const fits = n <= 2n ** 63n - 1n;
        expect(DecimalCountSchema.safeParse(n.toString()).success).toBe(fits);
        expect(LargeCountSchema.safeParse(Number(n)).success).toBe(Number(n) <= BIGINT_MAX_DOUBLE);
      }),
    );
    expect(BigInt(BIGINT_MAX_DOUBLE)).toBe(2n ** 63n - 1024n);
  });

  it('refuses every control character and lone surrogate in text, and keeps printable Unicode', () => {
    const text = textField(100);
    for (let code = 0; code < 0x20; code++) expect(text.safeParse(`a${String.fromCharCode(code)}b`).success).toBe(false);
    for (let code = 0x7f; code < 0xa0; code++) expect(text.safeParse(`a${String.fromCharCode(code)}b`).success).toBe(false);
    expect(text.safeParse('a\ud800b').success).toBe(false);
    expect(text.safeParse('prophet — 😀 ü').success).toBe(true);
  });

  it('accepts exactly the normalised host names', () => {
    fc.assert(
      fc.property(fc.oneof(fc.domain(), fc.string(), fc.webUrl()), (value) => {
        const checked = normalizeDomain(value);
        expect(DomainFieldSchema.safeParse(value).success).toBe(checked.ok && checked.domain === value);
      }),
    );
  });

  it('bounds region ids, integers and timestamps', () => {
    expect(RegionIdSchema.safeParse('us-east-1').success).toBe(true);
    expect(RegionIdSchema.safeParse('a'.repeat(33)).success).toBe(false);
    expect(RegionIdSchema.safeParse('-us').success).toBe(false);
    expect(PositiveInt32Schema.safeParse(INT32_MAX).success).toBe(true);
    expect(CountSchema.safeParse(Number.MAX_SAFE_INTEGER).success).toBe(true);
    expect(CountSchema.safeParse(-1).success).toBe(false);
    expect(TimestampSchema.safeParse('1969-12-31T23:59:59Z').success).toBe(false);
    expect(TimestampSchema.safeParse('2014-04-10T00:00:00+02:00').success).toBe(true);
  });
});
