import type { HistoryTables } from '@shardcast/platform';

/**
 * The forecaster's history for the history job: observed_demand by day, rolled up into
 * observed_demand_hourly (docs/decisions/0023-bounded-demand-history.md). A bucket's row holds its
 * latest revision, which replaces the one before: a revision of a rolled-up day would be added to
 * its hour a second time, so recordObserved refuses events before history_rollups' mark.
 */
export function observedDemandTables(schema: string): HistoryTables {
  return {
    schema,
    minute: 'observed_demand',
    hourly: 'observed_demand_hourly',
    keys: ['domain', 'region'],
    time: 'bucket_start',
    sums: ['requests', 'errors', 'bytes'],
    maxes: [],
    weightedMeans: [{ column: 'latency_p50_ms', weight: 'requests' }],
    rollUpMarker: 'history_rollups',
  };
}
