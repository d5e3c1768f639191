/**
 * Which `demand.observed` topics ingest publishes a commit's bucket revisions on
 * (`INGEST_DEMAND_OBSERVED_TOPICS`): v1, an event per bucket revision; v2, an event per commit
 * of a source partition, its revisions in chunks (decision 0022). The outbox row is the same
 * either way, so the setting can change between restarts.
 */
export interface DemandObservedTopics {
  v1: boolean;
  v2: boolean;
}
