import { CreateAllocationLedger1764400000000 } from './1764400000000-create-allocation-ledger';

/** Listed explicitly: globs break under bundlers and hide ordering. */
export const allocatorMigrations = [CreateAllocationLedger1764400000000];
