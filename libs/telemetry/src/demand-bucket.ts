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

export function serializeLatencySketch(bucket: DemandBucket): Buffer {
  return Buffer.from(bucket.latency.toProto());
}

export function deserializeLatencySketch(bytes: Uint8Array): DDSketch {
  return DDSketch.fromProto(bytes);
}

export function latencySummary(bucket: DemandBucket): { p50: number; p90: number; p99: number; max: number } {
  if (bucket.requests === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const q = (p: number) => Math.min(bucket.latency.getValueAtQuantile(p), bucket.latencyMaxMs);
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: bucket.latencyMaxMs };
}
