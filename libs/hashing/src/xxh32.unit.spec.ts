import fc from 'fast-check';
import { xxh32, xxh32Pair, xxh32Utf8 } from './xxh32';

// lz4js carries an independent XXH32 (used by its frame checksums): a second implementation to agree with.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lz4jsXxh32: { hash(seed: number, src: Uint8Array, index: number, length: number): number } = require('lz4js/xxh32.js');
const encoder = new TextEncoder();
const seed = fc.integer({ min: 0, max: 0xffffffff });

describe('xxh32', () => {
  it('matches the published XXH32 values', () => {
    expect(xxh32(new Uint8Array(), 0)).toBe(0x02cc5d05);
    expect(xxh32(encoder.encode('abc'), 0)).toBe(0x32d153ff);
  });

  it('agrees with an independent implementation on any bytes and seed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), seed, (bytes, s) => {
        expect(xxh32(bytes, s)).toBe(lz4jsXxh32.hash(s, bytes, 0, bytes.length) >>> 0);
      }),
      { numRuns: 500 },
    );
  });

  it('hashes a string as its UTF-8 bytes, on the ASCII fast path and off it', () => {
    const anyString = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }));
    fc.assert(
      fc.property(anyString, seed, (key, s) => {
        expect(xxh32Utf8(key, s)).toBe(xxh32(encoder.encode(key), s));
      }),
      { numRuns: 1000 },
    );
    // Char codes ≥ 0x100 with bit 7 clear must still leave the fast path.
    for (const key of ['\u0100abc', 'abc\u0100', 'xyzw\u0200abcdefghijklmnop', '\ud800x']) expect(xxh32Utf8(key, 0)).toBe(xxh32(encoder.encode(key), 0));
  });

  it('xxh32Pair is XXH32 of two little-endian u32 words', () => {
    fc.assert(
      fc.property(seed, seed, seed, (a, b, s) => {
        const bytes = new Uint8Array(8);
        new DataView(bytes.buffer).setUint32(0, a, true);
        new DataView(bytes.buffer).setUint32(4, b, true);
        expect(xxh32Pair(a, b, s)).toBe(xxh32(bytes, s));
      }),
    );
  });
});
