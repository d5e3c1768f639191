/** @shardcast/geo: regions, countries and the nearest-region rule, shared by ingest, the forecaster and DNS. Pure. */
export { parseRegionTable, selectRegions } from './region-catalog';
export type { Region } from './region-catalog';
export { greatCircleKm, nearestRegion } from './great-circle';
export { parseCountryCentroids } from './countries';
export type { CountryCentroid } from './countries';
export { MarketMap } from './markets';
export type { MarketInput, RegionShare } from './markets';
