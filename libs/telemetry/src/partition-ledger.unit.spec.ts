import fc from 'fast-check';
import { addRequest, emptyDemandBucket } from './demand-bucket';
import { aggregatePartitionMessages, AggregationPolicy, BUCKET_MS, PartitionDelta, PartitionMessage, PartitionProgress, watermarkOf } from './partition-aggregator';
import { applyPartitionDelta, isLedgerCurrent, LedgerEntry, PartitionLedger, progressPastClosedMinutes } from './partition-ledger';
import { RegionLocator } from './region-locator';

const locator = () =>
  new RegionLocator([
    { id: 'eu-central-1', name: 'Frankfurt', lat: 50.11, lon: 8.71 },
    { id: 'ap-northeast-1', name: 'Tokyo', lat: 35.69, lon: 139.77 },
  ]);
const POLICY: AggregationPolicy = { allowedLatenessMs: 120_000, maxFutureSkewMs: 60_000 };
const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const NOW = T0 + 30 * 60_000;

const rec = (ts: number, i = 0) => ({
  domain: i % 3 === 0 ? 'shop.example.org' : 'app.example.com',
  timestamp: ts,
  client: i % 2 === 0 ? { lat: 50.1, lon: 8.7 } : { lat: 35.7, lon: 139.7 },
  status: i % 5 === 0 ? 503 : 200,
  latencyMs: 1 + (i % 97),
  bytes: 10 * (i % 1000),
});
// A record's content derives from its timestamp, so the same stream cut differently carries the same records.
const messagesOf = (timestamps: number[], from: bigint): PartitionMessage[] =>
  timestamps.map((ts, i) => ({ offset: from + BigInt(i), value: Buffer.from(JSON.stringify(rec(ts, ts))) }));

const requestsOf = (entries: Iterable<LedgerEntry>) => [...entries].reduce((n, e) => n + e.bucket.requests, 0);
const fingerprint = (ledger: PartitionLedger) =>
  [...ledger.open].map(([id, e]) => ({ id, key: { ...e.key }, requests: e.bucket.requests, errors: e.bucket.errors, bytes: e.bucket.bytes, max: e.bucket.latencyMaxMs, count: e.bucket.latency.count, p50: e.bucket.latency.getValueAtQuantile(0.5) }));

function emptyLedger(): PartitionLedger {
  return { progress: { nextOffset: 0n, maxEventTimeMs: -Infinity }, open: new Map() };
}

/** Runs a ledger through runs of messages, as the consumer does between flushes. */
function feed(ledger: PartitionLedger, runs: number[][]): { ledger: PartitionLedger; closed: LedgerEntry[] } {
  const closed: LedgerEntry[] = [];
  for (const run of runs) {
    const delta = aggregatePartitionMessages(ledger.progress, messagesOf(run, ledger.progress.nextOffset), locator(), POLICY, NOW);
    const t = applyPartitionDelta(ledger, delta, POLICY);
    closed.push(...t.closed);
    ledger = t.next;
  }
  return { ledger, closed };
}

const timestampsArb = fc.array(fc.integer({ min: T0, max: T0 + 25 * 60_000 }), { maxLength: 25 });
const runsArb = fc.array(timestampsArb, { maxLength: 5 });

describe('applyPartitionDelta', () => {
  it('closes exactly the buckets whose end the watermark has reached', () => {
    const ledger = feed(emptyLedger(), [[T0, T0 + 60_000, T0 + 2 * 60_000, T0 + 2 * 60_000 + 1]]).ledger;
    expect(ledger.open.size).toBeGreaterThan(0);
    // Newest event at 10:05:00 → watermark 10:03:00: buckets 10:00, 10:01 and 10:02 close.
    const delta = aggregatePartitionMessages(ledger.progress, messagesOf([T0 + 5 * 60_000], ledger.progress.nextOffset), locator(), POLICY, NOW);
    const t = applyPartitionDelta(ledger, delta, POLICY);
    expect(t.closed.map((e) => e.key.bucketStartMs).sort()).toEqual([T0, T0 + 60_000, T0 + 2 * 60_000, T0 + 2 * 60_000]);
    expect([...t.next.open.values()].map((e) => e.key.bucketStartMs)).toEqual([T0 + 5 * 60_000]);
    expect(t.changed.map((e) => e.key.bucketStartMs)).toEqual([T0 + 5 * 60_000]);
    expect(t.next.progress).toEqual(delta.progress);
  });

  it('merges a delta into the open entry of the same bucket', () => {
    const ledger = feed(emptyLedger(), [[T0 + 1_000]]).ledger;
    const t = feed(ledger, [[T0 + 2_000, T0 + 3_000]]);
    const opened = [...t.ledger.open.values()];
    expect(requestsOf(opened)).toBe(3);
    expect(t.closed).toEqual([]);
  });

  it('property: conserves requests, closes exactly the passed buckets and never mutates an entry; the input ledger is superseded', () => {
    let nonTrivialRuns = 0;
    fc.assert(
      fc.property(runsArb, timestampsArb, (history, next) => {
        const { ledger } = feed(emptyLedger(), history);
        const before = fingerprint(ledger);
        const openBefore = new Map(ledger.open);
        const builtElsewhere = history.length === 0; // a plain Map, as a test or a reload builds it
        const progressBefore: PartitionProgress = { ...ledger.progress };

        const delta: PartitionDelta = aggregatePartitionMessages(ledger.progress, messagesOf(next, ledger.progress.nextOffset), locator(), POLICY, NOW);
        // The transition takes the delta's buckets over (merges into them): what arrived, read first.
        const arrivedById = new Map([...delta.buckets].map(([id, e]) => [id, e.bucket.requests]));
        const arrived = [...arrivedById.values()].reduce((a, b) => a + b, 0);
        const t = applyPartitionDelta(ledger, delta, POLICY);
        if (t.closed.length > 0 && t.next.open.size > 0 && openBefore.size > 0) nonTrivialRuns += 1;

        // Entries untouched (same bucket contents), progress too. A ledger a transition made is
        // superseded (its open map moved on); one built elsewhere is copied and stays as it was.
        expect(fingerprint({ progress: ledger.progress, open: openBefore })).toEqual(before);
        expect(ledger.progress).toEqual(progressBefore);
        expect(isLedgerCurrent(ledger)).toBe(builtElsewhere);
        if (builtElsewhere) expect([...ledger.open]).toEqual([...openBefore]);
        else expect(() => applyPartitionDelta(ledger, delta, POLICY)).toThrow(/superseded/);
        expect(isLedgerCurrent(t.next)).toBe(true);

        // Conservation: what was open plus what arrived is what is open now plus what closed.
        expect(requestsOf(t.next.open.values()) + requestsOf(t.closed)).toBe(requestsOf(openBefore.values()) + arrived);

        // Exactly the passed buckets closed.
        const watermark = watermarkOf(delta.progress, POLICY);
        for (const e of t.closed) expect(e.key.bucketStartMs + BUCKET_MS).toBeLessThanOrEqual(watermark);
        for (const e of t.next.open.values()) expect(e.key.bucketStartMs + BUCKET_MS).toBeGreaterThan(watermark);
        const closedIds = new Set(t.closed.map((e) => `${e.key.domain}\u0000${e.key.region}\u0000${e.key.bucketStartMs}`));
        for (const id of closedIds) expect(t.next.open.has(id)).toBe(false);
        expect(closedIds.size).toBe(t.closed.length);

        // Changed: one entry per bucket the delta touched, holding ledger + delta totals for it.
        expect(t.changed.length).toBe(delta.buckets.size);
        for (const e of t.changed) {
          const id = `${e.key.domain}\u0000${e.key.region}\u0000${e.key.bucketStartMs}`;
          expect(e.bucket.requests).toBe((openBefore.get(id)?.bucket.requests ?? 0) + arrivedById.get(id)!);
        }
        expect(requestsOf(t.changed)).toBe(arrived + requestsOf([...delta.buckets.keys()].flatMap((id) => (openBefore.has(id) ? [openBefore.get(id)!] : []))));
      }),
      { numRuns: 300 },
    );
    // Guard against a generator whose records are all rejected (the property would hold vacuously).
    expect(nonTrivialRuns).toBeGreaterThan(10);
  });

  it('property: over a whole stream, closed + open requests equal the accepted records, however the stream is cut into flushes', () => {
    fc.assert(
      fc.property(runsArb, (runs) => {
        const flat = runs.flat();
        const cut = feed(emptyLedger(), runs);
        const once = feed(emptyLedger(), [flat]);
        const accepted = aggregatePartitionMessages({ nextOffset: 0n, maxEventTimeMs: -Infinity }, messagesOf(flat, 0n), locator(), POLICY, NOW).accepted;
        expect(requestsOf(cut.closed) + requestsOf(cut.ledger.open.values())).toBe(accepted);
        expect(requestsOf(once.closed) + requestsOf(once.ledger.open.values())).toBe(accepted);
        // Records are valid and never in the future: the first is always accepted (nothing is late before it).
        expect(accepted).toBeGreaterThanOrEqual(Math.min(1, flat.length));
        // Closed buckets may be split across flushes; per bucket the sums agree.
        const sumByBucket = (entries: LedgerEntry[]) => {
          const m = new Map<string, number>();
          for (const e of entries) {
            const id = `${e.key.domain}|${e.key.region}|${e.key.bucketStartMs}`;
            m.set(id, (m.get(id) ?? 0) + e.bucket.requests);
          }
          return [...m].sort();
        };
        expect(sumByBucket([...cut.closed, ...cut.ledger.open.values()])).toEqual(sumByBucket([...once.closed, ...once.ledger.open.values()]));
      }),
      { numRuns: 200 },
    );
  });

  it('does not mutate a ledger bucket when a later delta lands in the same bucket', () => {
    const bucket = emptyDemandBucket();
    addRequest(bucket, 200, 5, 1);
    const key = { domain: 'app.example.com', region: 'eu-central-1', bucketStartMs: T0 };
    const id = `${key.domain}\u0000${key.region}\u0000${key.bucketStartMs}`;
    const ledger: PartitionLedger = { progress: { nextOffset: 1n, maxEventTimeMs: T0 }, open: new Map([[id, { key, bucket }]]) };
    const incoming = emptyDemandBucket();
    addRequest(incoming, 500, 50, 2);
    const delta: PartitionDelta = { buckets: new Map([[id, { key, bucket: incoming }]]), rejections: [], accepted: 1, skippedMessages: 0, progress: { nextOffset: 2n, maxEventTimeMs: T0 + 1 } };
    const t = applyPartitionDelta(ledger, delta, POLICY);
    expect([bucket.requests, bucket.errors, bucket.bytes, bucket.latencyMaxMs, bucket.latency.count]).toEqual([1, 0, 1, 5, 1]);
    expect(t.next.open.get(id)!.bucket).not.toBe(bucket);
    expect(t.next.open.get(id)!.bucket.requests).toBe(2);
    expect(ledger.open.get(id)!.bucket).toBe(bucket);
  });

  describe('with an open-bucket limit', () => {
    const idOf = (e: LedgerEntry) => `${e.key.domain}\u0000${e.key.region}\u0000${e.key.bucketStartMs}`;

    /** The stream of feed(), with a limit, keeping every transition's evicted entries. */
    function feedLimited(runs: number[][], maxOpenBuckets: number) {
      let ledger = emptyLedger();
      const closed: LedgerEntry[] = [];
      const evicted: LedgerEntry[] = [];
      for (const run of runs) {
        const delta = aggregatePartitionMessages(ledger.progress, messagesOf(run, ledger.progress.nextOffset), locator(), POLICY, NOW);
        const t = applyPartitionDelta(ledger, delta, { ...POLICY, maxOpenBuckets });
        expect(t.next.open.size).toBeLessThanOrEqual(maxOpenBuckets);
        for (const e of t.evicted) expect(t.closed).toContain(e);
        closed.push(...t.closed);
        evicted.push(...t.evicted);
        ledger = t.next;
      }
      return { ledger, closed, evicted };
    }

    it('evicts the least recently touched open buckets first, before the watermark passes them', () => {
      // Three buckets of one minute each, then bucket A touched again: B is the least recently touched.
      const [a, b, c] = [T0 + 1_000, T0 + 60_000 + 1_000, T0 + 120_000 + 1_000];
      const first = feedLimited([[a], [b], [c]], 3);
      expect(first.evicted).toEqual([]);
      let ledger = first.ledger;
      const touchA = aggregatePartitionMessages(ledger.progress, messagesOf([a + 1], ledger.progress.nextOffset), locator(), POLICY, NOW);
      ledger = applyPartitionDelta(ledger, touchA, { ...POLICY, maxOpenBuckets: 3 }).next;
      const newD = aggregatePartitionMessages(ledger.progress, messagesOf([T0 + 150_000], ledger.progress.nextOffset), locator(), POLICY, NOW);
      const t = applyPartitionDelta(ledger, newD, { ...POLICY, maxOpenBuckets: 3 });
      expect(t.evicted.map((e) => e.key.bucketStartMs)).toEqual([T0 + 60_000]);
      expect(t.closed).toEqual(t.evicted); // nothing else passed the watermark (10:02:30 − 2 min)
      expect(watermarkOf(t.next.progress, POLICY)).toBeLessThan(T0 + 60_000 + BUCKET_MS);
      expect([...t.next.open.values()].map((e) => e.key.bucketStartMs).sort()).toEqual([T0, T0 + 120_000, T0 + 120_000]);
    });

    it('property: counts stay exact under any limit: per bucket, the shares closed (evicted or not) and open sum to the unlimited stream', () => {
      let evictions = 0;
      fc.assert(
        fc.property(runsArb, fc.integer({ min: 1, max: 6 }), (runs, limit) => {
          const limited = feedLimited(runs, limit);
          const unlimited = feed(emptyLedger(), runs);
          evictions += limited.evicted.length;
          const sumByBucket = (entries: LedgerEntry[]) => {
            const m = new Map<string, [number, number, number]>();
            for (const e of entries) {
              const t = m.get(idOf(e)) ?? [0, 0, 0];
              m.set(idOf(e), [t[0] + e.bucket.requests, t[1] + e.bucket.errors, t[2] + e.bucket.bytes]);
            }
            return [...m].sort();
          };
          expect(sumByBucket([...limited.closed, ...limited.ledger.open.values()])).toEqual(sumByBucket([...unlimited.closed, ...unlimited.ledger.open.values()]));
        }),
        { numRuns: 200 },
      );
      expect(evictions).toBeGreaterThan(10); // the limit did bind (typically 50–150 evictions over the 200 runs)
    });
  });
});

describe('progressPastClosedMinutes', () => {
  const lateness = { allowedLatenessMs: 600_000, maxFutureSkewMs: 0 };
  it('leaves a progress whose watermark is past the closed minutes, or that closed none, as it is', () => {
    const progress: PartitionProgress = { nextOffset: 5n, maxEventTimeMs: 10 * BUCKET_MS };
    expect(progressPastClosedMinutes(progress, null, lateness)).toBe(progress);
    expect(progressPastClosedMinutes(progress, 0, { ...lateness, allowedLatenessMs: 60_000 })).toBe(progress);
  });

  it('moves the watermark just past the latest closed minute, so that a record of it is late and one of the next is not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 3_600_000 }), (closedMinute, behind, allowedLatenessMs) => {
        const closedUpToMs = closedMinute * BUCKET_MS;
        const policy = { allowedLatenessMs, maxFutureSkewMs: 0 };
        const progress = { nextOffset: 1n, maxEventTimeMs: closedUpToMs + BUCKET_MS - behind * 1_000 };
        const moved = progressPastClosedMinutes(progress, closedUpToMs, policy);
        const watermark = watermarkOf(moved, policy);
        expect(moved.nextOffset).toBe(1n);
        expect(moved.maxEventTimeMs).toBeGreaterThanOrEqual(progress.maxEventTimeMs);
        expect(closedUpToMs + BUCKET_MS).toBeLessThanOrEqual(watermark); // its minute is closed: late
        expect(closedUpToMs + 2 * BUCKET_MS > watermark || moved === progress).toBe(true); // moved no further than needed
      }),
    );
  });
});
