import type { Region } from './region-catalog';

const EARTH_RADIUS_KM = 6371.0088;
const toRad = (deg: number) => (deg * Math.PI) / 180;

/** Great-circle distance (haversine), km. */
export function greatCircleKm(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const dLat = toRad(bLat - aLat);
  const dLon = toRad(bLon - aLon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(aLat)) * Math.cos(toRad(bLat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * The region nearest a location by great-circle distance, the first in table order on a tie: the
 * one rule for clients (ingest), countries (the forecaster's markets) and DNS.
 */
export function nearestRegion<R extends Pick<Region, 'lat' | 'lon'>>(regions: readonly R[], lat: number, lon: number): R {
  if (regions.length === 0) throw new Error('the region set is empty');
  let best = regions[0];
  let bestKm = Infinity;
  for (const region of regions) {
    const km = greatCircleKm(lat, lon, region.lat, region.lon);
    if (km < bestKm) {
      bestKm = km;
      best = region;
    }
  }
  return best;
}
