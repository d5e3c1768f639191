/**
 * XXH32 (Yann Collet's xxHash, 32-bit variant, as in the reference xxhash.c) in 32-bit integer
 * arithmetic: no BigInt, no native code, so every lookup stays cheap and any language can match it.
 */
const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const P5 = 0x165667b1 | 0;

// Module constants, not global lookups: in a vm context (Jest) every `Math.imul` would be a slow global read.
const imul = Math.imul;
const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
const round = (acc: number, lane: number): number => imul(rotl((acc + imul(lane, P2)) | 0, 13), P1);

function avalanche(h: number): number {
  h ^= h >>> 15;
  h = imul(h, P2);
  h ^= h >>> 13;
  h = imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** XXH32 of `length` bytes read through `byteAt`, unsigned. */
function xxh32With(byteAt: (i: number) => number, length: number, seed: number): number {
  const lane = (i: number): number => byteAt(i) | (byteAt(i + 1) << 8) | (byteAt(i + 2) << 16) | (byteAt(i + 3) << 24);
  let i = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    for (; i <= length - 16; i += 16) {
      v1 = round(v1, lane(i));
      v2 = round(v2, lane(i + 4));
      v3 = round(v3, lane(i + 8));
      v4 = round(v4, lane(i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + length) | 0;
  for (; i <= length - 4; i += 4) h = imul(rotl((h + imul(lane(i), P3)) | 0, 17), P4);
  for (; i < length; i++) h = imul(rotl((h + imul(byteAt(i), P5)) | 0, 11), P1);
  return avalanche(h);
}

/** XXH32 of a byte array, unsigned. */
export function xxh32(bytes: Uint8Array, seed: number): number {
  return xxh32With((i) => bytes[i], bytes.length, seed);
}

/** XXH32 of two little-endian u32 words (8 bytes): the per-(slot, shard) score of the table. */
export function xxh32Pair(a: number, b: number, seed: number): number {
  let h = (seed + P5 + 8) | 0;
  h = imul(rotl((h + imul(a, P3)) | 0, 17), P4);
  h = imul(rotl((h + imul(b, P3)) | 0, 17), P4);
  return avalanche(h);
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/**
 * XXH32 of the UTF-8 bytes of `key` (lone surrogates as U+FFFD, as TextEncoder encodes them).
 * The hot path: an ASCII key is its own UTF-8, so it is hashed straight from its char codes
 * without encoding; any other key is encoded first.
 */
export function xxh32Utf8(key: string, seed: number): number {
  const length = key.length;
  let i = 0;
  let h: number;
  // OR of every char code: one ≥ 0x80 is not its own UTF-8 byte, and the key is encoded instead.
  let codes = 0;
  let a: number, b: number, c: number, d: number;
  if (length >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    for (; i <= length - 16; i += 16) {
      a = key.charCodeAt(i); b = key.charCodeAt(i + 1); c = key.charCodeAt(i + 2); d = key.charCodeAt(i + 3);
      codes |= a | b | c | d;
      v1 = round(v1, a | (b << 8) | (c << 16) | (d << 24));
      a = key.charCodeAt(i + 4); b = key.charCodeAt(i + 5); c = key.charCodeAt(i + 6); d = key.charCodeAt(i + 7);
      codes |= a | b | c | d;
      v2 = round(v2, a | (b << 8) | (c << 16) | (d << 24));
      a = key.charCodeAt(i + 8); b = key.charCodeAt(i + 9); c = key.charCodeAt(i + 10); d = key.charCodeAt(i + 11);
      codes |= a | b | c | d;
      v3 = round(v3, a | (b << 8) | (c << 16) | (d << 24));
      a = key.charCodeAt(i + 12); b = key.charCodeAt(i + 13); c = key.charCodeAt(i + 14); d = key.charCodeAt(i + 15);
      codes |= a | b | c | d;
      v4 = round(v4, a | (b << 8) | (c << 16) | (d << 24));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + length) | 0;
  for (; i <= length - 4; i += 4) {
    a = key.charCodeAt(i); b = key.charCodeAt(i + 1); c = key.charCodeAt(i + 2); d = key.charCodeAt(i + 3);
    codes |= a | b | c | d;
    h = imul(rotl((h + imul(a | (b << 8) | (c << 16) | (d << 24), P3)) | 0, 17), P4);
  }
  for (; i < length; i++) {
    a = key.charCodeAt(i);
    codes |= a;
    h = imul(rotl((h + imul(a, P5)) | 0, 11), P1);
  }
  if (codes < 0x80) return avalanche(h);
  if (scratch.length < length * 3) scratch = new Uint8Array(length * 3);
  const { written } = encoder.encodeInto(key, scratch);
  return xxh32(scratch.subarray(0, written), seed);
}
