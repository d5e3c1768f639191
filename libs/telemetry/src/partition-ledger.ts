import { DemandBucket, mergeDemandBuckets } from './demand-bucket';
import { AggregationPolicy, BucketKey, BUCKET_MS, PartitionDelta, PartitionProgress, watermarkOf } from './partition-aggregator';

export interface LedgerEntry {
  key: BucketKey;
  bucket: DemandBucket;
}

/** One partition's still-open share of each bucket, plus its stored progress. */
export interface PartitionLedger {
  progress: PartitionProgress;
  open: ReadonlyMap<string, LedgerEntry>;
}

export interface LedgerTransition {
  next: PartitionLedger;
  /** Open entries whose totals changed: to be stored. */
  changed: LedgerEntry[];
  /**
   * Entries closed by this transition: the ones the watermark has passed (final for this
   * partition) and the ones evicted early; all to be merged across partitions as revisions.
   */
  closed: LedgerEntry[];
  /**
   * The subset of `closed` evicted before the watermark passed them (the open-bucket limit):
   * their stored shares are removed by key (a tombstone), the rest by time (the closed minute). A later record of such a bucket
   * opens a new share, closed later as the bucket's next revision, as another partition's share is.
   */
  evicted: LedgerEntry[];
}

/** A bound on a partition's open buckets (0022, item 4); unbounded when absent. */
export interface OpenBucketLimit {
  maxOpenBuckets?: number;
}

/**
 * A partition's open entries in order of last touch (a touched entry moves to the end, so the
 * least recently touched come first when the limit evicts), indexed by bucket start so that the
 * watermark closes a minute's entries without scanning the others.
 */
class OpenBuckets implements ReadonlyMap<string, LedgerEntry> {
  private readonly byId = new Map<string, LedgerEntry>();
  private readonly byStart = new Map<number, Set<string>>();

  static of(source: ReadonlyMap<string, LedgerEntry>): OpenBuckets {
    const open = new OpenBuckets();
    for (const [id, entry] of source) open.touch(id, entry);
    return open;
  }

  /** Sets `id` to `entry` as the most recently touched. */
  touch(id: string, entry: LedgerEntry): void {
    if (this.byId.delete(id)) this.byId.set(id, entry);
    else {
      this.byId.set(id, entry);
      const start = entry.key.bucketStartMs;
      const ids = this.byStart.get(start);
      if (ids) ids.add(id);
      else this.byStart.set(start, new Set([id]));
    }
  }

  /** Removes and returns the entries of every bucket that ends at or before `watermark`. */
  closeUpTo(watermark: number, closed: LedgerEntry[]): void {
    for (const [start, ids] of this.byStart) {
      if (start + BUCKET_MS > watermark) continue;
      for (const id of ids) {
        closed.push(this.byId.get(id)!);
        this.byId.delete(id);
      }
      this.byStart.delete(start);
    }
  }

  /** Removes and returns the least recently touched entries until at most `limit` remain. */
  evictDownTo(limit: number, evicted: LedgerEntry[]): void {
    for (const [id, entry] of this.byId) {
      if (this.byId.size <= limit) break;
      evicted.push(entry);
      this.byId.delete(id);
      const ids = this.byStart.get(entry.key.bucketStartMs)!;
      ids.delete(id);
      if (ids.size === 0) this.byStart.delete(entry.key.bucketStartMs);
    }
  }

  get size(): number {
    return this.byId.size;
  }
  get(id: string): LedgerEntry | undefined {
    return this.byId.get(id);
  }
  has(id: string): boolean {
    return this.byId.has(id);
  }
  forEach(fn: (value: LedgerEntry, key: string, map: ReadonlyMap<string, LedgerEntry>) => void): void {
    for (const [id, entry] of this.byId) fn(entry, id, this);
  }
  keys(): MapIterator<string> {
    return this.byId.keys();
  }
  values(): MapIterator<LedgerEntry> {
    return this.byId.values();
  }
  entries(): MapIterator<[string, LedgerEntry]> {
    return this.byId.entries();
  }
  [Symbol.iterator](): MapIterator<[string, LedgerEntry]> {
    return this.byId[Symbol.iterator]();
  }
}

/**
 * A stored ledger's progress with its watermark at least past the minutes the partition has closed
 * (`closedUpToMs`, the latest closed start; null when none): a record of a closed minute is late.
 * The watermark alone says so while the allowed lateness stays as it was; raised between runs, it
 * would move the watermark back over minutes whose stored shares are gone (0037).
 */
export function progressPastClosedMinutes(progress: PartitionProgress, closedUpToMs: number | null, policy: AggregationPolicy): PartitionProgress {
  if (closedUpToMs === null) return progress;
  const needed = closedUpToMs + BUCKET_MS + policy.allowedLatenessMs;
  return progress.maxEventTimeMs >= needed ? progress : { ...progress, maxEventTimeMs: needed };
}

/**
 * Ledgers whose open map a later transition took over: not to be applied to again (their contents
 * are the later ledger's now). Only the stored state can stand in for them: reload it.
 */
const superseded = new WeakSet<PartitionLedger>();

/** Whether `ledger` can still be applied to: false once a transition was made from it. */
export function isLedgerCurrent(ledger: PartitionLedger): boolean {
  return !superseded.has(ledger);
}

/**
 * Applies a delta to a partition's ledger and closes the buckets its watermark has passed.
 * Entries are never mutated (a merge goes into the delta's own bucket, so a delta is applied once),
 * so a transition's lists stay valid, but the open map is taken over, not copied (copying up to the limit of entries per batch cost more than
 * the rest of the step): `ledger` is superseded by `next` (`isLedgerCurrent` turns false), and
 * after a failed store the caller reloads the stored ledger instead of reusing it. A ledger built
 * elsewhere (loaded, or a plain Map) is copied once and stays usable.
 */
export function applyPartitionDelta(ledger: PartitionLedger, delta: PartitionDelta, policy: AggregationPolicy & OpenBucketLimit): LedgerTransition {
  if (superseded.has(ledger)) throw new Error('applyPartitionDelta: the ledger was superseded by a later transition; reload the stored ledger');
  let open: OpenBuckets;
  if (ledger.open instanceof OpenBuckets) {
    open = ledger.open;
    superseded.add(ledger);
  } else {
    open = OpenBuckets.of(ledger.open);
  }
  const changed: LedgerEntry[] = []; // one per delta bucket: the delta's ids are distinct
  for (const [id, entry] of delta.buckets) {
    const current = open.get(id);
    // The delta's bucket is this transition's own (a delta is applied once): the open share is
    // merged into it, so the share a previous transition listed stays as it was, without a copy.
    const merged: LedgerEntry = current ? { key: current.key, bucket: mergeDemandBuckets(entry.bucket, current.bucket) } : { key: entry.key, bucket: entry.bucket };
    open.touch(id, merged);
    changed.push(merged);
  }
  const closed: LedgerEntry[] = [];
  open.closeUpTo(watermarkOf(delta.progress, policy), closed);
  const evicted: LedgerEntry[] = [];
  const limit = policy.maxOpenBuckets;
  if (limit !== undefined && open.size > limit) {
    open.evictDownTo(limit, evicted);
    for (const e of evicted) closed.push(e); // a loop: spreading many entries overflows the stack
  }
  return { next: { progress: delta.progress, open }, changed, closed, evicted };
}
