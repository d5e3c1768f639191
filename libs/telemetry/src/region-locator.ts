import { nearestRegion, Region } from '@shardcast/geo';

const NATIVE_CACHE_CELLS = 1 << 16;

/**
 * Maps a client location to its nearest region. Locations are snapped to a 0.01° grid (~1 km)
 * and memoised per cell: clients cluster in cities, so the hot path mostly skips the scan, and the
 * answer depends only on the cell, so a replay maps every record exactly as before.
 */
export class RegionLocator {
  private readonly cache = new Map<number, string>();
  private native?: { regions: Float64Array; cellCache: Int32Array };

  constructor(
    readonly regions: readonly Region[],
    private readonly pops: ReadonlyMap<string, { lat: number; lon: number }> = new Map(),
    private readonly maxCacheEntries = 200_000,
  ) {
    if (regions.length === 0) throw new Error('the region set is empty');
  }

  nearest(lat: number, lon: number): string {
    const latCell = Math.round(lat * 100);
    const lonCell = Math.round(lon * 100);
    const key = (latCell + 9_000) * 40_000 + (lonCell + 18_000);
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const region = this.scan(latCell / 100, lonCell / 100);
    if (this.cache.size >= this.maxCacheEntries) this.cache.clear();
    this.cache.set(key, region);
    return region;
  }

  /**
   * The same lookup's tables for the C aggregator (telemetry-aggregator.c): region coordinates in
   * this order, and a cell cache it keeps ([used, (cell, region index) × 2^16], cells -1 when free).
   */
  nativeTables(): { regions: Float64Array; cellCache: Int32Array } {
    if (!this.native) {
      const cellCache = new Int32Array(1 + 2 * NATIVE_CACHE_CELLS).fill(-1);
      cellCache[0] = 0;
      this.native = { regions: Float64Array.from(this.regions.flatMap((r) => [r.lat, r.lon])), cellCache };
    }
    return this.native;
  }

  /** Region of an edge POP, or undefined when the POP is not configured. */
  forPop(pop: string): string | undefined {
    const at = this.pops.get(pop);
    return at ? this.nearest(at.lat, at.lon) : undefined;
  }

  private scan(lat: number, lon: number): string {
    return nearestRegion(this.regions, lat, lon).id;
  }
}
