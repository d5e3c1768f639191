// What services, libs and tools use of the telemetry domain; anything else stays internal
// (architecture-rules.unit.spec.ts checks that every name here is used outside this lib).
export { bucketId, BucketPublication, demandObservedEvent, demandObservedPayload, nextBucketRevision, serializeDemandObservedEvent, serializeDemandObservedPayload, StoredBucketRevision } from './bucket-publication';
export { ObservedCommit, observedBatchChunkEnds, observedBatchMessages, observedBucketJsonBound } from './observed-batch';
export { normalizedDomainOf } from './common-record';
export { addRequest, byteTotalOfDecimal, bytesDecimal, deserializeLatencySketch, emptyDemandBucket, latencySummary, mergeDemandBuckets, packLatencySketches, serializeLatencySketch } from './demand-bucket';
export { EndOffsetWatch, idleCloseVerdict, IdleCloseVerdict } from './idle-close';
export { NativeScan, PACKED_SCAN_LAYOUT, PackedPositions, PackedScan, PackedTelemetryScanner, PackedValue } from './packed-telemetry-scanner';
export {
  aggregatePartitionMessages,
  AggregationPolicy,
  BUCKET_MS,
  MessageRejection,
  PartitionDelta,
  PartitionMessage,
  PartitionProgress,
} from './partition-aggregator';
export { applyPartitionDelta, isLedgerCurrent, LedgerEntry, LedgerTransition, OpenBucketLimit, PartitionLedger, progressPastClosedMinutes } from './partition-ledger';
export { parseRegionTable, selectRegions } from './region-catalog';
export { RegionLocator } from './region-locator';
export { decodeTelemetryMessage, decodeTelemetryMessageSlowly } from './telemetry-decoder';
export { scanTelemetryMessage } from './telemetry-scanner';
export { DEMO_CLIENT_MIX, expandCountsToRequests, parseCountCsv, ReplayRecord, seededRandom } from './trace-replay';
