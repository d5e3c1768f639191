import { DDSketch } from '@datadog/sketches-js';

/** Relative accuracy of latency quantiles; sketches must share it to merge. */
export const LATENCY_SKETCH_ACCURACY = 0.01;

/** What one (domain, region, minute) bucket — or one partition's share of it — has seen. */
export interface DemandBucket extends ByteTotal {
  requests: number;
  errors: number;
  latencyMaxMs: number;
  latency: DDSketch;
}

/**
 * A byte total, exact at any size: `bytes` is the total while it is a safe integer (the usual
 * case: adding to it costs one comparison); past Number.MAX_SAFE_INTEGER it is the nearest double
 * and `bytesBig` holds the exact total (100,000 records of MAX_RECORD_BYTES in one bucket make
 * 1e16 > 2^53). `bytesBig` is undefined whenever `bytes` is exact.
 */
export interface ByteTotal {
  bytes: number;
  bytesBig?: bigint | undefined;
}

export function emptyDemandBucket(): DemandBucket {
  return { requests: 0, errors: 0, bytes: 0, bytesBig: undefined, latencyMaxMs: 0, latency: newLatencySketch() };
}

/**
 * Adds a non-negative integer total (`bytes`, and `big` when that total is past the safe range).
 * When the double sum is a safe integer, both operands were safe and the sum is exact (a true sum
 * of 2^53 or more rounds to at least 2^53): only past that does it take a bigint.
 */
export function addBytes(into: ByteTotal, bytes: number, big?: bigint): void {
  const sum = into.bytes + bytes;
  if (sum <= Number.MAX_SAFE_INTEGER) {
    into.bytes = sum;
    return;
  }
  const exact = (into.bytesBig ?? BigInt(into.bytes)) + (big ?? BigInt(bytes));
  into.bytesBig = exact;
  into.bytes = Number(exact);
}

/** The exact total. */
export function exactBytes(total: ByteTotal): bigint {
  return total.bytesBig ?? BigInt(total.bytes);
}

/** The exact total in decimal: what storage and `bytesExact` of demand.observed.v1 hold. */
export function bytesDecimal(total: ByteTotal): string {
  return total.bytesBig !== undefined ? total.bytesBig.toString() : String(total.bytes);
}

/** A total read back in decimal (PostgreSQL's bigint as text, `bytesExact`). */
export function byteTotalOfDecimal(decimal: string): { bytes: number; bytesBig: bigint | undefined } {
  const bytes = Number(decimal);
  return bytes <= Number.MAX_SAFE_INTEGER ? { bytes, bytesBig: undefined } : { bytes, bytesBig: BigInt(decimal) };
}

const TWO_32 = 4294967296;

/** The total the C aggregator hands over as two doubles: `high` * 2^32 + `low` (low < 2^32). */
export function byteTotalOfHighLow(high: number, low: number): { bytes: number; bytesBig: bigint | undefined } {
  if (high < 2097152) return { bytes: high * TWO_32 + low, bytesBig: undefined }; // < 2^53: exact
  const bytesBig = (BigInt(high) << 32n) + BigInt(low);
  return { bytes: Number(bytesBig), bytesBig };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const LibraryDenseStore = require('@datadog/sketches-js/dist/ddsketch/store').DenseStore as new () => DenseBins & { _extendRange(key: number, secondKey?: number): void; copy(store: DenseBins): void };

/** Most headroom a growing store takes (the library's chunk). */
const STORE_CHUNK = 128;
/** Least headroom: a bucket of one or two latencies stays a few dozen bins. */
const STORE_MIN_HEADROOM = 16;

/**
 * The library's DenseStore with two changes:
 * - A key below the lowest so far re-centres the whole bin array (a slice and an unshift of every
 *   bin) even when the array has room for it, which a fresh minute's sketch does again and again
 *   as lower latencies arrive (a third of ingest's sketch time). Here a key inside the array only
 *   moves minKey/maxKey; outside it, the array grows and the range sits in its middle.
 * - Growth follows the range: an add leaves headroom of the range's own size (at least 16, at
 *   most the library's 128 bins), so growth stays amortised; a merge, which knows the whole range,
 *   takes exactly it. The library's fixed 128-bin chunks cost ~2 kB per sketch, and with 100,000
 *   domains most open buckets hold one to three latencies (decision 0022).
 * Bins, counts, merge and quantiles are the library's; a unit test holds both stores to the same
 * answers and serialised bytes.
 */
class HeadroomDenseStore extends LibraryDenseStore {
  override _extendRange(key: number, secondKey?: number): void {
    const merging = secondKey !== undefined;
    const low = Math.min(key, secondKey ?? key, this.minKey);
    const high = Math.max(key, secondKey ?? key, this.maxKey);
    if (this.bins.length > 0 && low >= this.offset && high < this.offset + this.bins.length) {
      this.minKey = low;
      this.maxKey = high;
      return;
    }
    const span = high - low + 1;
    const length = merging ? span : span + Math.min(STORE_CHUNK, Math.max(STORE_MIN_HEADROOM, span));
    const offset = low - Math.floor((length - span) / 2);
    const bins: number[] = new Array(length).fill(0);
    for (let k = this.minKey; k <= this.maxKey; k++) bins[k - offset] = this.bins[k - this.offset];
    this.bins = bins;
    this.offset = offset;
    this.minKey = low;
    this.maxKey = high;
  }
}

/** DDSketch's base class: it takes the key mapping and the two stores as given. */
const BaseSketch = Object.getPrototypeOf(DDSketch) as new (parts: { mapping: object; store: DenseBins; negativeStore: DenseBins; zeroCount: number }) => DDSketch;

/**
 * The negative store every latency sketch shares: latencies are never negative (the decoders
 * reject them), so it stays empty, and whatever would put a value in it throws instead.
 */
class NoNegativeValues extends LibraryDenseStore {
  override add(): void {
    throw new Error('a latency sketch holds no negative values');
  }
  override copy(store: DenseBins): void {
    if (store.count !== 0) throw new Error('a latency sketch holds no negative values');
  }
}
const noNegativeValues = new NoNegativeValues();

let sharedMapping: object | undefined;

/**
 * A DDSketch (the library's, LATENCY_SKETCH_ACCURACY) over HeadroomDenseStore, built on the base
 * class: DDSketch's constructor makes a key mapping and two stores, three objects per open bucket
 * for the garbage collector (a third of ingest's CPU over 100,000 domains) that we would replace.
 * Every sketch shares the immutable key mapping and the empty negative store.
 */
export function newLatencySketch(): DDSketch {
  sharedMapping ??= (new DDSketch({ relativeAccuracy: LATENCY_SKETCH_ACCURACY }) as unknown as SketchInternals).mapping;
  return new BaseSketch({ mapping: sharedMapping, store: new HeadroomDenseStore(), negativeStore: noNegativeValues, zeroCount: 0 });
}

/** The latency sketch's key mapping, for code that computes keys itself (telemetry-aggregator.c). */
export function latencySketchKeyMapping(): { multiplier: number; offset: number; minPossible: number } {
  const mapping = (newLatencySketch() as unknown as { mapping: { _multiplier: number; _offset: number; minPossible: number } }).mapping;
  return { multiplier: mapping._multiplier, offset: mapping._offset, minPossible: mapping.minPossible };
}

/**
 * A bucket from totals counted elsewhere (the C aggregator): the sketch holds `bins[k]` at key
 * `minKey + k` and `zeroCount` zeros, as if each latency had been accepted in turn.
 */
export function demandBucketFromCounts(
  totals: { requests: number; errors: number; bytes: number; bytesBig?: bigint | undefined; latencyMaxMs: number },
  latency: { zeroCount: number; min: number; max: number; sum: number; minKey: number; bins: Float64Array },
): DemandBucket {
  const sketch = newLatencySketch();
  const s = sketch as unknown as SketchInternals & { sum: number };
  const store = s.store;
  const { bins, minKey } = latency;
  if (bins.length > 0) {
    // Exactly the counted range: most such buckets are only read and merged, never added to (a
    // later add or merge grows the array as HeadroomDenseStore does).
    // Sized once (pushing grew it ~10 times), and not Array.from: that walks a typed array
    // through its iterator, an object per bin.
    const counts = new Array<number>(bins.length);
    let count = 0;
    for (let k = 0; k < bins.length; k++) {
      counts[k] = bins[k];
      count += bins[k];
    }
    store.bins = counts;
    store.offset = minKey;
    store.minKey = minKey;
    store.maxKey = minKey + bins.length - 1;
    store.count = count;
  }
  s.zeroCount = latency.zeroCount;
  s.count = totals.requests;
  s.min = latency.min;
  s.max = latency.max;
  s.sum = latency.sum;
  return { requests: totals.requests, errors: totals.errors, bytes: totals.bytes, bytesBig: totals.bytesBig, latencyMaxMs: totals.latencyMaxMs, latency: sketch };
}

export function addRequest(bucket: DemandBucket, status: number, latencyMs: number, bytes: number): void {
  bucket.requests += 1;
  if (status >= 500) bucket.errors += 1;
  const sum = bucket.bytes + bytes;
  if (sum <= Number.MAX_SAFE_INTEGER) bucket.bytes = sum;
  else addBytes(bucket, bytes); // past 2^53: exact in bytesBig
  if (latencyMs > bucket.latencyMaxMs) bucket.latencyMaxMs = latencyMs;
  bucket.latency.accept(latencyMs);
}

/** Merges `from` into `into` (sketch merge is exact up to the sketch's relative accuracy). */
export function mergeDemandBuckets(into: DemandBucket, from: DemandBucket): DemandBucket {
  into.requests += from.requests;
  into.errors += from.errors;
  addBytes(into, from.bytes, from.bytesBig);
  into.latencyMaxMs = Math.max(into.latencyMaxMs, from.latencyMaxMs);
  into.latency.merge(from.latency);
  return into;
}

// The library's own toProto writes its whole dense growth buffer (kilobytes per sketch). We write
// the standard DDSketch protobuf with the sparse `binCounts` map instead (tens of bytes for a quiet
// minute); any DDSketch implementation reads it, and so does deserializeLatencySketch. A unit test
// holds the hand-written encoding to protobufjs' decoding of the same message.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ProtoSketch = require('@datadog/sketches-js/dist/ddsketch/proto/compiled').DDSketch as {
  create(m: object): object;
  encode(m: object): { finish(): Uint8Array };
  decode(b: Uint8Array): ProtoSketchMessage;
};

interface ProtoStoreMessage {
  binCounts?: Record<string, number>;
  contiguousBinCounts?: number[];
  contiguousBinIndexOffset?: number;
}

interface ProtoSketchMessage {
  mapping?: { gamma?: number; indexOffset?: number };
  positiveValues?: ProtoStoreMessage;
  negativeValues?: ProtoStoreMessage;
  zeroCount?: number;
}

interface DenseBins {
  bins: number[];
  offset: number;
  minKey: number;
  maxKey: number;
  count: number;
  add(key: number, weight: number): void;
}

interface SketchInternals {
  mapping: { toProto(): object; gamma: number; indexOffset?: number };
  store: DenseBins;
  negativeStore: DenseBins;
  zeroCount: number;
  count: number;
  min: number;
  max: number;
}

let mappingField: { gamma: number; bytes: Buffer } | undefined;

/** Field 1 (the index mapping) of every sketch we write: encoded once by protobufjs, then reused. */
function mappingFieldBytes(mapping: SketchInternals['mapping']): Buffer {
  if (mappingField?.gamma === mapping.gamma) return mappingField.bytes;
  const bytes = Buffer.from(ProtoSketch.encode(ProtoSketch.create({ mapping: mapping.toProto() })).finish());
  mappingField ??= { gamma: mapping.gamma, bytes };
  return bytes;
}

/** Protobuf writer for the few shapes a sketch needs (varint, double, length-delimited). */
class ProtoWriter {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  varint(n: number): void {
    while (n > 0x7f) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }
  double(x: number): void {
    this.buf.writeDoubleLE(x, this.pos);
    this.pos += 8;
  }
}

const STORE_ENTRY_MAX = 1 + 1 + 1 + 5 + 1 + 8; // tag, length, key tag + sint32, value tag + double

/**
 * A Store message (sparse `binCounts` map<sint32, double>) as field `fieldNumber`; nothing for an
 * empty store. Written by hand: protobufjs spends ~10 µs per sketch building and encoding the map.
 */
function writeStore(w: ProtoWriter, fieldNumber: number, store: DenseBins): void {
  if (store.count <= 0) return;
  const bodyStart = w.pos + 1 + 5; // room for the tag and a length varint of up to 5 bytes
  const body = new ProtoWriter(w.buf);
  body.pos = bodyStart;
  for (let key = store.minKey; key <= store.maxKey; key++) {
    const count = store.bins[key - store.offset];
    if (!count) continue;
    const zigzag = ((key << 1) ^ (key >> 31)) >>> 0;
    const keyLength = zigzag < 0x80 ? 1 : zigzag < 0x4000 ? 2 : zigzag < 0x200000 ? 3 : zigzag < 0x10000000 ? 4 : 5;
    body.buf[body.pos++] = 0x0a; // field 1 (binCounts), length-delimited map entry
    body.varint(1 + keyLength + 1 + 8);
    body.buf[body.pos++] = 0x08; // entry key: field 1, varint (sint32, zigzag)
    body.varint(zigzag);
    body.buf[body.pos++] = 0x11; // entry value: field 2, 64-bit (double)
    body.double(count);
  }
  const length = body.pos - bodyStart;
  w.buf[w.pos++] = (fieldNumber << 3) | 2;
  w.varint(length);
  w.buf.copy(w.buf, w.pos, bodyStart, bodyStart + length);
  w.pos += length;
}

/** The most bytes writeLatencySketch can take for this sketch (every bin of its range set). */
function worstCaseBytes(sketch: SketchInternals, mapping: Buffer): number {
  const bins = (store: DenseBins) => (store.count > 0 ? store.maxKey - store.minKey + 1 : 0);
  return mapping.length + 2 * 6 + (bins(sketch.store) + bins(sketch.negativeStore)) * STORE_ENTRY_MAX + 9;
}

/** Writes the sketch's protobuf at `at` (room for worstCaseBytes must be there); returns its end. */
function writeLatencySketch(sketch: SketchInternals, mapping: Buffer, buf: Buffer, at: number): number {
  mapping.copy(buf, at);
  const w = new ProtoWriter(buf);
  w.pos = at + mapping.length;
  writeStore(w, 2, sketch.store);
  writeStore(w, 3, sketch.negativeStore);
  if (sketch.zeroCount !== 0) {
    buf[w.pos++] = 0x21; // field 4 (zeroCount), 64-bit
    w.double(sketch.zeroCount);
  }
  return w.pos;
}

/**
 * Written here, then copied out at its exact size: allocating the worst case per sketch (every
 * bin between min and max set) used up Node's 8 KB buffer pool every few sketches.
 */
let scratch = Buffer.allocUnsafe(64 * 1024);

export function serializeLatencySketch(bucket: DemandBucket): Buffer {
  const sketch = bucket.latency as unknown as SketchInternals;
  const mapping = mappingFieldBytes(sketch.mapping);
  const worstCase = worstCaseBytes(sketch, mapping);
  if (scratch.length < worstCase) scratch = Buffer.allocUnsafe(2 * worstCase);
  return Buffer.from(scratch.subarray(0, writeLatencySketch(sketch, mapping, scratch, 0)));
}

/**
 * The buckets' sketches, serialised as serializeLatencySketch does, one after another in one
 * buffer, with where each starts (1-based, for SQL's substring) and its length: a statement's
 * packed bytea param without a Buffer per sketch (over 100,000 domains, a tenth of what ingest
 * allocated).
 */
export function packLatencySketches(buckets: readonly DemandBucket[]): { bytes: Buffer; starts: number[]; lengths: number[] } {
  const starts = new Array<number>(buckets.length);
  const lengths = new Array<number>(buckets.length);
  let buf = Buffer.allocUnsafe(Math.max(256, buckets.length * 48));
  let at = 0;
  for (let i = 0; i < buckets.length; i++) {
    const sketch = buckets[i].latency as unknown as SketchInternals;
    const mapping = mappingFieldBytes(sketch.mapping);
    const worstCase = worstCaseBytes(sketch, mapping);
    if (buf.length < at + worstCase) {
      const grown = Buffer.allocUnsafe(2 * (at + worstCase));
      buf.copy(grown, 0, 0, at);
      buf = grown;
    }
    const end = writeLatencySketch(sketch, mapping, buf, at);
    starts[i] = at + 1;
    lengths[i] = end - at;
    at = end;
  }
  return { bytes: buf.subarray(0, at), starts, lengths };
}

/** Reads a DDSketch protobuf (sparse or contiguous bins) made with LATENCY_SKETCH_ACCURACY. */
export function deserializeLatencySketch(bytes: Uint8Array): DDSketch {
  const message = ProtoSketch.decode(bytes);
  const sketch = newLatencySketch();
  const internals = sketch as unknown as SketchInternals;
  const gamma = message.mapping?.gamma ?? internals.mapping.gamma;
  if (Math.abs(gamma - internals.mapping.gamma) > 1e-12) return DDSketch.fromProto(bytes);
  const fill = (into: DenseBins, from: ProtoStoreMessage | undefined) => {
    if (!from) return;
    for (const [key, count] of Object.entries(from.binCounts ?? {})) if (count > 0) into.add(Number(key), count);
    (from.contiguousBinCounts ?? []).forEach((count, i) => count > 0 && into.add((from.contiguousBinIndexOffset ?? 0) + i, count));
  };
  fill(internals.store, message.positiveValues);
  const negatives = message.negativeValues;
  if ((negatives?.contiguousBinCounts ?? []).some((c) => c > 0) || Object.values(negatives?.binCounts ?? {}).some((c) => c > 0)) {
    internals.negativeStore = new LibraryDenseStore(); // written elsewhere: not ours to refuse
    fill(internals.negativeStore, negatives);
  }
  internals.zeroCount = message.zeroCount ?? 0;
  internals.count = internals.zeroCount + internals.store.count + internals.negativeStore.count;
  return sketch;
}

export function latencySummary(bucket: DemandBucket): { p50: number; p90: number; p99: number; max: number } {
  if (bucket.requests === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const q = (p: number) => Math.min(bucket.latency.getValueAtQuantile(p), bucket.latencyMaxMs);
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: bucket.latencyMaxMs };
}
