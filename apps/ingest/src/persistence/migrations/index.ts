import { CreateIngestTables1764000000000 } from './1764000000000-create-ingest-tables';
import { ClosedSharesInDemandBuckets1764200000000 } from './1764200000000-closed-shares-in-demand-buckets';

/** Listed explicitly: globs break under bundlers and hide ordering. */
export const ingestMigrations = [CreateIngestTables1764000000000, ClosedSharesInDemandBuckets1764200000000];
