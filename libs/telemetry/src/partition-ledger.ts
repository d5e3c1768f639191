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
  /** Entries the watermark has passed: final for this partition, to be merged across partitions. */
  closed: LedgerEntry[];
}

/**
 * Applies a delta to a partition's ledger and closes the buckets its watermark has passed.
 * Does not mutate `ledger`'s buckets, so a failed store leaves the in-memory ledger usable.
 */
export function applyPartitionDelta(ledger: PartitionLedger, delta: PartitionDelta, policy: AggregationPolicy): LedgerTransition {
  const open = new Map(ledger.open);
  const changed = new Map<string, LedgerEntry>();
  for (const [id, entry] of delta.buckets) {
    const current = open.get(id);
    const merged: LedgerEntry = current
      ? { key: current.key, bucket: mergeDemandBuckets(cloneBucket(current.bucket), entry.bucket) }
      : { key: entry.key, bucket: entry.bucket };
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
  return { next: { progress: delta.progress, open }, changed: [...changed.values()], closed };
}

function cloneBucket(bucket: DemandBucket): DemandBucket {
  return mergeDemandBuckets(emptyDemandBucket(), bucket);
}
