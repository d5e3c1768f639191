import { CreateForecasterTables1764100000000 } from './1764100000000-create-forecaster-tables';
import { AddScheduleClaims1764200000000 } from './1764200000000-add-schedule-claims';
import { AddRegistrations1764300000000 } from './1764300000000-add-registrations';
import { OutboxKeepsTextAndTombstones1764400000000 } from './1764400000000-outbox-keeps-text-and-tombstones';
import { PartitionedObservedDemand1765000000000 } from './1765000000000-partitioned-observed-demand';
import { KnownSeries1765100000000 } from './1765100000000-known-series';
import { ForecastTiers1765200000000 } from './1765200000000-forecast-tiers';
import { ForecastPayloadJson1765300000000 } from './1765300000000-forecast-payload-json';

/** Listed explicitly: globs break under bundlers and hide ordering. */
export const forecasterMigrations = [
  CreateForecasterTables1764100000000,
  AddScheduleClaims1764200000000,
  AddRegistrations1764300000000,
  OutboxKeepsTextAndTombstones1764400000000,
  PartitionedObservedDemand1765000000000,
  KnownSeries1765100000000,
  ForecastTiers1765200000000,
  ForecastPayloadJson1765300000000,
];
