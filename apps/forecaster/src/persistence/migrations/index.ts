import { CreateForecasterTables1764100000000 } from './1764100000000-create-forecaster-tables';

/** Listed explicitly: globs break under bundlers and hide ordering. */
export const forecasterMigrations = [CreateForecasterTables1764100000000];
