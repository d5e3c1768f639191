// The region table and its parser are the geography lib's (@shardcast/geo), shared with the
// forecaster's market mapping; ingest keeps importing them from here.
export { parseRegionTable, selectRegions } from '@shardcast/geo';
export type { Region } from '@shardcast/geo';
