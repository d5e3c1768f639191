import { CreateIngestTables1764000000000 } from './1764000000000-create-ingest-tables';

/** Listed explicitly: globs break under bundlers and hide ordering. */
export const ingestMigrations = [CreateIngestTables1764000000000];
