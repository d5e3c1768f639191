import { CreateIngestTables1764000000000 } from './1764000000000-create-ingest-tables';
import { ClosedSharesInDemandBuckets1764200000000 } from './1764200000000-closed-shares-in-demand-buckets';
import { DemandOutbox1764300000000 } from './1764300000000-demand-outbox';
import { OffsetGaps1764900000000 } from './1764900000000-offset-gaps';
import { PartitionedDemandHistory1765000000000 } from './1765000000000-partitioned-demand-history';
import { DemandOutboxSource1765100000000 } from './1765100000000-demand-outbox-source';
import { OpenShareDeltas1765200000000 } from './1765200000000-open-share-deltas';

/** Listed explicitly: globs break under bundlers and hide ordering. */
export const ingestMigrations = [
  CreateIngestTables1764000000000,
  ClosedSharesInDemandBuckets1764200000000,
  DemandOutbox1764300000000,
  OffsetGaps1764900000000,
  PartitionedDemandHistory1765000000000,
  DemandOutboxSource1765100000000,
  OpenShareDeltas1765200000000,
];
