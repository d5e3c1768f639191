import { CreateAllocationLedger1764400000000 } from './1764400000000-create-allocation-ledger';
import { AddOutboxAndProcessedEvents1764500000000 } from './1764500000000-add-outbox-and-processed-events';

/** Listed explicitly: globs break under bundlers and hide ordering. */
export const allocatorMigrations = [CreateAllocationLedger1764400000000, AddOutboxAndProcessedEvents1764500000000];
