import { DemandBucket, emptyDemandBucket, mergeDemandBuckets } from './demand-bucket';
import { AggregationPolicy, BucketKey, BUCKET_MS, PartitionDelta, PartitionProgress, watermarkOf } from './partition-aggregator';

export interface LedgerEntry {
  key: BucketKey;
  bucket: DemandBucket;
}

/** One partition's still-open share of each bucket, plus its stored progress. */
export interface PartitionLedger {
  progress: PartitionProgress;
  open: Map<string, LedgerEntry>;
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
   * their stored shares are removed by key, the rest by time. A later record of such a bucket
   * opens a new share, closed later as the bucket's next revision, as another partition's share is.
   */
  evicted: LedgerEntry[];
}

/** A bound on a partition's open buckets (0022, item 4); unbounded when absent. */
export interface OpenBucketLimit {
  maxOpenBuckets?: number;
}

/**
 * Applies a delta to a partition's ledger and closes the buckets its watermark has passed.
 * Does not mutate `ledger`'s buckets, so a failed store leaves the in-memory ledger usable.
 */
export function applyPartitionDelta(ledger: PartitionLedger, delta: PartitionDelta, policy: AggregationPolicy & OpenBucketLimit): LedgerTransition {
  // `open` is kept in order of last touch (a touched entry is moved to the end), so the least
  // recently touched come first when the limit evicts.
  const open = new Map(ledger.open);
  const changed = new Map<string, LedgerEntry>();
  for (const [id, entry] of delta.buckets) {
    const current = open.get(id);
    const merged: LedgerEntry = current
      ? { key: current.key, bucket: mergeDemandBuckets(cloneBucket(current.bucket), entry.bucket) }
      : { key: entry.key, bucket: entry.bucket };
    if (current) open.delete(id);
    open.set(id, merged);
    changed.set(id, merged);
  }
  const watermark = watermarkOf(delta.progress, policy);
  const closed: LedgerEntry[] = [];
  for (const [id, entry] of open) {
    if (entry.key.bucketStartMs + BUCKET_MS <= watermark) {
      closed.push(entry);
      open.delete(id);
    }
  }
  const evicted: LedgerEntry[] = [];
  const limit = policy.maxOpenBuckets;
  if (limit !== undefined && open.size > limit) {
    for (const [id, entry] of open) {
      if (open.size <= limit) break;
      evicted.push(entry);
      closed.push(entry);
      open.delete(id);
    }
  }
  return { next: { progress: delta.progress, open }, changed: [...changed.values()], closed, evicted };
}

function cloneBucket(bucket: DemandBucket): DemandBucket {
  return mergeDemandBuckets(emptyDemandBucket(), bucket);
}
