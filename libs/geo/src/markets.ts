import type { CountryCentroid } from './countries';
import { nearestRegion } from './great-circle';
import type { Region } from './region-catalog';

/** A market as a registration states it: a country (ISO 3166-1 alpha-2) or a region id, with its share. */
export type MarketInput = { country: string; share: number } | { region: string; share: number };

export interface RegionShare {
  region: string;
  share: number;
}

/**
 * Countries and client locations to regions, by the rule ingest applies to clients (nearest region
 * by great-circle distance), and each region's local time (its longitude's solar offset).
 */
export class MarketMap {
  private readonly byId: Map<string, Region>;

  constructor(
    readonly regions: readonly Region[],
    private readonly countries: ReadonlyMap<string, CountryCentroid>,
  ) {
    if (regions.length === 0) throw new Error('the region set is empty');
    this.byId = new Map(regions.map((r) => [r.id, r]));
  }

  /** The region serving a location. */
  regionAt(lat: number, lon: number): string {
    return nearestRegion(this.regions, lat, lon).id;
  }

  /** The region serving a country's users; undefined for a code without a centroid. */
  regionOfCountry(code: string): string | undefined {
    const c = this.countries.get(code);
    return c ? this.regionAt(c.lat, c.lon) : undefined;
  }

  hasRegion(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * Markets to regions with shares adding up to 1 (two countries served by one region add up),
   * largest first. Throws on a country or region it does not know.
   */
  regionShares(markets: readonly MarketInput[]): RegionShare[] {
    const shares = new Map<string, number>();
    let total = 0;
    for (const m of markets) {
      const region = 'country' in m ? this.regionOfCountry(m.country) : this.byId.has(m.region) ? m.region : undefined;
      if (!region) throw new Error('country' in m ? `unknown country ${m.country}` : `unknown region ${m.region}`);
      shares.set(region, (shares.get(region) ?? 0) + m.share);
      total += m.share;
    }
    if (!(total > 0)) throw new Error('markets have no share');
    return [...shares].map(([region, share]) => ({ region, share: share / total })).sort((a, b) => b.share - a.share || (a.region < b.region ? -1 : 1));
  }

  /** Hours a region's local (solar) time is ahead of UTC: its longitude / 15. Unknown region: 0. */
  utcOffsetHours(region: string): number {
    const r = this.byId.get(region);
    return r ? r.lon / 15 : 0;
  }
}
