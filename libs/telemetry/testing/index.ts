// Test helpers of the telemetry domain (`@shardcast/telemetry/testing`), for its own specs and for
// those of implementations held to it (libs/ingest-native). Only specs may import them.
export { commonValuesValid } from '../src/common-record';
export { bucketStartOf } from '../src/partition-aggregator';
export { FRANKFURT, inOneBuffer, locator, msg, msgs, NOW, partitionArb, POLICY, rec, sketchesOf, START, T0, TOKYO, totalsOf } from './partition-fixtures';
export { describeScannerAgreement, recordText, validText } from './scanner-agreement';
