/**
 * Times ingest's per-bucket steps alone (no Kafka, no database) on tail buckets of 1 to 3 records,
 * as issue #20's long tail makes them: CPU per bucket (process.cpuUsage, so a busy machine skews it
 * less than wall time) and the heap each step leaves per bucket.
 *
 *   NODE_OPTIONS=--expose-gc npx tsx bench/ingest/per-bucket.ts [--buckets 270000]
 */
import { parseArgs } from 'node:util';
import { addRequest, emptyDemandBucket, mergeDemandBuckets, nextBucketRevision, serializeDemandObservedEvent, serializeLatencySketch } from '@shardcast/telemetry';

const { values: args } = parseArgs({ options: { buckets: { type: 'string', default: '270000' } } });
const B = Number(args.buckets);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};

/** Runs one step over every bucket; prints its CPU and the heap it leaves, per bucket. */
function step<T>(name: string, fn: () => T): T {
  (globalThis as { gc?: () => void }).gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = cpuMs();
  const result = fn();
  const cpu = cpuMs() - cpu0;
  const heap = process.memoryUsage().heapUsed - heap0;
  console.log(`${name.padEnd(52)} ${((cpu * 1000) / B).toFixed(2).padStart(7)} µs CPU  ${(heap / B).toFixed(0).padStart(6)} B heap  per bucket`);
  return result;
}

const buckets = step('a bucket of 1–3 records (DDSketch, addRequest)', () =>
  Array.from({ length: B }, (_, i) => {
    const bucket = emptyDemandBucket();
    for (let k = 0; k <= i % 3; k++) addRequest(bucket, 200, 20 + ((i * 7 + k * 13) % 300), 1000);
    return bucket;
  }),
);
step('its clone and merge (applyPartitionDelta)', () => buckets.map((b) => mergeDemandBuckets(mergeDemandBuckets(emptyDemandBucket(), b), b)));
step('serializeLatencySketch (its partition_buckets row)', () => buckets.map((b) => serializeLatencySketch(b)));
const at = new Date();
const revisions = step('nextBucketRevision (quantiles, sketch, event, id)', () =>
  buckets.map((b, i) => nextBucketRevision({ domain: `app${i}.example.com`, region: 'eu-west-1', bucketStartMs: Date.UTC(2014, 3, 10) }, b, undefined, 'ingest', at)),
);
const events = step('serializeDemandObservedEvent (the v1 message)', () => revisions.map((r) => serializeDemandObservedEvent(r.event)));
console.log(`per bucket: event ${(events.reduce((a, e) => a + e.length, 0) / B).toFixed(0)} B, sketch ${(revisions.reduce((a, r) => a + r.sketch.length, 0) / B).toFixed(0)} B`);
