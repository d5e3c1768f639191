/**
 * Times ingest's pure per-record steps in isolation (no Kafka, no DB), on the same records the
 * benchmark produces, and a candidate fast path for validation.
 *
 *   npx tsx bench/ingest/hot-path.ts [--records 200000]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { normalizeDomain, TelemetryRecord, TelemetryRecordSchema } from '@shardcast/contracts';
import {
  addRequest,
  aggregatePartitionMessages,
  applyPartitionDelta,
  decodeTelemetryMessage,
  decodeTelemetryMessageSlowly,
  scanTelemetryMessage,
  emptyDemandBucket,
  parseRegionTable,
  PartitionLedger,
  RegionLocator,
  serializeLatencySketch,
} from '@shardcast/telemetry';
import { generateTelemetry } from '@shardcast/test-stack';

const { values: args } = parseArgs({ options: { records: { type: 'string', default: '200000' }, batch: { type: 'string', default: '25000' } } });
const N = Number(args.records);
const BATCH = Number(args.batch);
const records = generateTelemetry(N, { seed: 1, startMs: Date.UTC(2014, 3, 10), stepMs: 20 });
const buffers = records.map((r) => Buffer.from(JSON.stringify(r)));
const parsed = buffers.map((b) => JSON.parse(b.toString('utf8')));
const regions = parseRegionTable(readFileSync(resolve(__dirname, '..', '..', 'data', 'regions', 'awsData.js'), 'utf8'));
const policy = { allowedLatenessMs: 120_000, maxFutureSkewMs: 300_000 };

function time(name: string, fn: () => void, repeat = 5): number {
  fn(); // warm-up
  const runs: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    fn();
    runs.push(performance.now() - t);
  }
  runs.sort((a, b) => a - b);
  const ms = runs[Math.floor(runs.length / 2)];
  console.log(`${name.padEnd(58)} ${((ms * 1000) / N).toFixed(3).padStart(7)} µs/record  ${fmt((N / ms) * 1000).padStart(11)} rec/s`);
  return (ms * 1000) / N;
}
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
let sink = 0;

console.log(`${fmt(N)} records, ${regions.length} regions, batches of ${fmt(BATCH)}`);
time('Buffer.toString + JSON.parse', () => { for (const b of buffers) sink += JSON.parse(b.toString('utf8')).status; });
time('zod TelemetryRecordSchema.safeParse (pre-parsed)', () => { for (const p of parsed) sink += TelemetryRecordSchema.safeParse(p).success ? 1 : 0; });
time('  of which normalizeDomain (domainToASCII + label checks)', () => { for (const p of parsed) sink += normalizeDomain(p.domain).ok ? 1 : 0; });
time('decodeTelemetryMessageSlowly (toString + JSON.parse + hand check)', () => { for (const b of buffers) sink += decodeTelemetryMessageSlowly(b).records.length; });
time('scanTelemetryMessage (byte scanner)', () => { for (const b of buffers) sink += scanTelemetryMessage(b)?.records.length ?? 0; });
time('decodeTelemetryMessage (scanner, else the slow path)', () => { for (const b of buffers) sink += decodeTelemetryMessage(b).records.length; });
const locator = new RegionLocator(regions);
time('RegionLocator.nearest (memoised 0.01° cells)', () => { for (const p of parsed) sink += locator.nearest(p.client.lat, p.client.lon).length; });
time('addRequest → DDSketch.accept (one bucket per domain/region/min)', () => {
  const buckets = new Map<string, ReturnType<typeof emptyDemandBucket>>();
  for (const p of parsed) {
    const id = `${p.domain}\u0000${locator.nearest(p.client.lat, p.client.lon)}\u0000${Math.floor(p.timestamp / 60000)}`;
    let b = buckets.get(id);
    if (!b) buckets.set(id, (b = emptyDemandBucket()));
    addRequest(b, p.status, p.latencyMs, p.bytes);
  }
  sink += buckets.size;
});

const messages = buffers.map((value, i) => ({ offset: BigInt(i), value, key: null }));
let bucketsPerBatch = 0;
time(`aggregatePartitionMessages (batches of ${BATCH})`, () => {
  let progress = { nextOffset: -1n, maxEventTimeMs: -Infinity };
  for (let i = 0; i < messages.length; i += BATCH) {
    const delta = aggregatePartitionMessages(progress, messages.slice(i, i + BATCH), locator, policy, Date.now());
    progress = delta.progress;
    bucketsPerBatch = delta.buckets.size;
  }
});
// What the store serialises per batch: every changed entry, every closed entry again, and the
// merged closed bucket a third time (publishClosedBuckets).
let changedTotal = 0;
let closedTotal = 0;
let both = 0;
time('applyPartitionDelta + serialize changed + closed sketches', () => {
  let ledger: PartitionLedger = { progress: { nextOffset: -1n, maxEventTimeMs: -Infinity }, open: new Map() };
  changedTotal = closedTotal = both = 0;
  for (let i = 0; i < messages.length; i += BATCH) {
    const delta = aggregatePartitionMessages(ledger.progress, messages.slice(i, i + BATCH), locator, policy, Date.now());
    const t = applyPartitionDelta(ledger, delta, policy);
    for (const e of t.changed) sink += serializeLatencySketch(e.bucket).length;
    for (const e of t.closed) sink += serializeLatencySketch(e.bucket).length;
    const closedSet = new Set(t.closed);
    both += t.changed.filter((e) => closedSet.has(e)).length;
    changedTotal += t.changed.length;
    closedTotal += t.closed.length;
    ledger = t.next;
  }
});
time('serializeLatencySketch, one per bucket (buckets of ~36 records)', () => {
  const sketches = new Map<string, ReturnType<typeof emptyDemandBucket>>();
  for (const p of parsed) {
    const id = `${p.domain}\u0000${locator.nearest(p.client.lat, p.client.lon)}\u0000${Math.floor(p.timestamp / 60000)}`;
    let b = sketches.get(id);
    if (!b) sketches.set(id, (b = emptyDemandBucket()));
    addRequest(b, p.status, p.latencyMs, p.bytes);
  }
  for (const b of sketches.values()) sink += serializeLatencySketch(b).length;
});
console.log(`per batch of ${fmt(BATCH)}: ${fmt(bucketsPerBatch)} buckets; over the run ${fmt(changedTotal)} changed entries, ${fmt(closedTotal)} closed, ${fmt(both)} both changed and closed in the same batch (serialised and upserted twice)`);
if (sink === 42) console.log('');
export type { TelemetryRecord };
