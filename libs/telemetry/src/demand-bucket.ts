import { DDSketch } from '@datadog/sketches-js';

/** Relative accuracy of latency quantiles; sketches must share it to merge. */
export const LATENCY_SKETCH_ACCURACY = 0.01;

/** What one (domain, region, minute) bucket — or one partition's share of it — has seen. */
export interface DemandBucket {
  requests: number;
  errors: number;
  bytes: number;
  latencyMaxMs: number;
  latency: DDSketch;
}

export function emptyDemandBucket(): DemandBucket {
  return { requests: 0, errors: 0, bytes: 0, latencyMaxMs: 0, latency: new DDSketch({ relativeAccuracy: LATENCY_SKETCH_ACCURACY }) };
}

export function addRequest(bucket: DemandBucket, status: number, latencyMs: number, bytes: number): void {
  bucket.requests += 1;
  if (status >= 500) bucket.errors += 1;
  bucket.bytes += bytes;
  if (latencyMs > bucket.latencyMaxMs) bucket.latencyMaxMs = latencyMs;
  bucket.latency.accept(latencyMs);
}

/** Merges `from` into `into` (sketch merge is exact up to the sketch's relative accuracy). */
export function mergeDemandBuckets(into: DemandBucket, from: DemandBucket): DemandBucket {
  into.requests += from.requests;
  into.errors += from.errors;
  into.bytes += from.bytes;
  into.latencyMaxMs = Math.max(into.latencyMaxMs, from.latencyMaxMs);
  into.latency.merge(from.latency);
  return into;
}

// The library's own toProto writes its whole dense growth buffer (kilobytes per sketch). We write
// the standard DDSketch protobuf with the sparse `binCounts` map instead (tens of bytes for a quiet
// minute); any DDSketch implementation reads it, and so does deserializeLatencySketch.
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

function sparseBins(store: DenseBins): { binCounts: Record<number, number> } {
  const binCounts: Record<number, number> = {};
  if (store.count > 0) {
    for (let key = store.minKey; key <= store.maxKey; key++) {
      const c = store.bins[key - store.offset];
      if (c) binCounts[key] = c;
    }
  }
  return { binCounts };
}

let canonicalMapping: { gamma: number; proto: object } | undefined;

/** The library re-requires its protobuf module on every toProto; one mapping serves all our sketches. */
function mappingProto(mapping: SketchInternals['mapping']): object {
  if (canonicalMapping?.gamma === mapping.gamma) return canonicalMapping.proto;
  const proto = mapping.toProto();
  canonicalMapping ??= { gamma: mapping.gamma, proto };
  return proto;
}

export function serializeLatencySketch(bucket: DemandBucket): Buffer {
  const sketch = bucket.latency as unknown as SketchInternals;
  const message = ProtoSketch.create({
    mapping: mappingProto(sketch.mapping),
    positiveValues: sparseBins(sketch.store),
    negativeValues: sparseBins(sketch.negativeStore),
    zeroCount: sketch.zeroCount,
  });
  return Buffer.from(ProtoSketch.encode(message).finish());
}

/** Reads a DDSketch protobuf (sparse or contiguous bins) made with LATENCY_SKETCH_ACCURACY. */
export function deserializeLatencySketch(bytes: Uint8Array): DDSketch {
  const message = ProtoSketch.decode(bytes);
  const sketch = new DDSketch({ relativeAccuracy: LATENCY_SKETCH_ACCURACY });
  const internals = sketch as unknown as SketchInternals;
  const gamma = message.mapping?.gamma ?? internals.mapping.gamma;
  if (Math.abs(gamma - internals.mapping.gamma) > 1e-12) return DDSketch.fromProto(bytes);
  const fill = (into: DenseBins, from: ProtoStoreMessage | undefined) => {
    if (!from) return;
    for (const [key, count] of Object.entries(from.binCounts ?? {})) if (count > 0) into.add(Number(key), count);
    (from.contiguousBinCounts ?? []).forEach((count, i) => count > 0 && into.add((from.contiguousBinIndexOffset ?? 0) + i, count));
  };
  fill(internals.store, message.positiveValues);
  fill(internals.negativeStore, message.negativeValues);
  internals.zeroCount = message.zeroCount ?? 0;
  internals.count = internals.zeroCount + internals.store.count + internals.negativeStore.count;
  return sketch;
}

export function latencySummary(bucket: DemandBucket): { p50: number; p90: number; p99: number; max: number } {
  if (bucket.requests === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const q = (p: number) => Math.min(bucket.latency.getValueAtQuantile(p), bucket.latencyMaxMs);
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: bucket.latencyMaxMs };
}
