export * from './region-catalog';
export * from './region-locator';
export * from './telemetry-decoder';
export * from './demand-bucket';
export * from './partition-aggregator';
export * from './partition-ledger';
export * from './trace-replay';
export * from './bucket-publication';
