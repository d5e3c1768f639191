import type { HistoryTables } from '@shardcast/platform';

/**
 * Ingest's demand history for the history job: demand_buckets by day, rolled up into
 * demand_buckets_hourly (exact counts, the max latency; docs/decisions/0023-bounded-demand-history.md).
 * A roll-up adds to an hour already rolled up: a share closed after its day was rolled up makes a
 * new minute row holding that share only, so adding it keeps the hour exact.
 */
export function demandHistoryTables(schema: string): HistoryTables {
  return {
    schema,
    minute: 'demand_buckets',
    hourly: 'demand_buckets_hourly',
    keys: ['domain', 'region'],
    time: 'bucket_start',
    sums: ['requests', 'errors', 'bytes'],
    maxes: ['latency_max_ms'],
    weightedMeans: [],
  };
}
