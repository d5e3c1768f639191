import { CreateAssignments1764600000000 } from './1764600000000-create-assignments';

/** Listed explicitly: globs break under bundlers and hide ordering. */
export const shardAssignerMigrations = [CreateAssignments1764600000000];
