import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { parseRegionTable, Region, selectRegions } from './region-catalog';
import { greatCircleKm } from '@shardcast/geo';
import { RegionLocator } from './region-locator';

const AWS_REGIONS_FILE = resolve(__dirname, '../../../data/regions/awsData.js');
const awsRegions = parseRegionTable(readFileSync(AWS_REGIONS_FILE, 'utf8'));

/** The answer by definition: the first region at the smallest distance from the 0.01°-snapped point. */
function bruteForceNearest(regions: readonly Region[], lat: number, lon: number): string {
  const sLat = Math.round(lat * 100) / 100;
  const sLon = Math.round(lon * 100) / 100;
  let best = regions[0];
  let bestKm = Infinity;
  for (const r of regions) {
    const km = greatCircleKm(sLat, sLon, r.lat, r.lon);
    if (km < bestKm) {
      bestKm = km;
      best = r;
    }
  }
  return best.id;
}

const point = fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }) });

describe('parseRegionTable', () => {
  it('reads all 34 regions of data/regions/awsData.js with finite coordinates', () => {
    expect(awsRegions).toHaveLength(34);
    expect(new Set(awsRegions.map((r) => r.id)).size).toBe(34);
    for (const r of awsRegions) {
      expect(r.id).toMatch(/^[a-z]{2}-[a-z]+-\d$/);
      expect(r.lat).toBeGreaterThanOrEqual(-90);
      expect(r.lat).toBeLessThanOrEqual(90);
      expect(r.lon).toBeGreaterThanOrEqual(-180);
      expect(r.lon).toBeLessThanOrEqual(180);
    }
    expect(awsRegions.find((r) => r.id === 'eu-central-1')).toEqual({ id: 'eu-central-1', name: 'Europe (Frankfurt)', lat: 50.11096846548534, lon: 8.707274845854466 });
    // Coordinates with a space after the ';' still parse.
    expect(awsRegions.find((r) => r.id === 'ca-west-1')).toMatchObject({ lat: 51.0486, lon: -114.0708 });
  });

  it('reads a plain table, skipping comments, blank lines, short lines and non-numeric coordinates', () => {
    const text = ['# name;display;zones;lat;lon', '', 'r-1;One;[];10;20', 'broken;line', 'r-2;Two;[];abc;20', ';NoId;[];1;2', 'r-3;Three;[]; -5.5 ; 7 ', 'r-4;Four;[];10'].join('\r\n');
    expect(parseRegionTable(text)).toEqual([
      { id: 'r-1', name: 'One', lat: 10, lon: 20 },
      { id: 'r-3', name: 'Three', lat: -5.5, lon: 7 },
    ]);
  });
});

describe('selectRegions', () => {
  it('keeps all regions when no ids are configured', () => {
    expect(selectRegions(awsRegions, undefined)).toBe(awsRegions);
    expect(selectRegions(awsRegions, [])).toBe(awsRegions);
  });

  it('keeps the named regions in the configured order', () => {
    expect(selectRegions(awsRegions, ['us-east-1', 'eu-west-1']).map((r) => r.id)).toEqual(['us-east-1', 'eu-west-1']);
  });

  it('throws naming every unknown id', () => {
    expect(() => selectRegions(awsRegions, ['eu-west-1', 'mars-north-1', 'eu-west-9'])).toThrow(/mars-north-1, eu-west-9/);
  });
});

describe('greatCircleKm', () => {
  it('gives known distances', () => {
    expect(greatCircleKm(51.5074, -0.1278, 48.8566, 2.3522)).toBeCloseTo(343.9, 0); // London–Paris
    expect(greatCircleKm(0, 0, 0, 180)).toBeCloseTo(Math.PI * 6371.0088, 6);
    expect(greatCircleKm(90, 0, -90, 0)).toBeCloseTo(Math.PI * 6371.0088, 6);
  });

  it('property: is zero at the same point, symmetric, non-negative and at most half the circumference', () => {
    fc.assert(
      fc.property(point, point, (a, b) => {
        expect(greatCircleKm(a.lat, a.lon, a.lat, a.lon)).toBeCloseTo(0, 6);
        const ab = greatCircleKm(a.lat, a.lon, b.lat, b.lon);
        expect(ab).toBeCloseTo(greatCircleKm(b.lat, b.lon, a.lat, a.lon), 6);
        expect(ab).toBeGreaterThanOrEqual(0);
        expect(ab).toBeLessThanOrEqual(Math.PI * 6371.0088 + 1e-6);
      }),
    );
  });
});

describe('RegionLocator', () => {
  it.each([
    ['Frankfurt', 50.1109, 8.6821, 'eu-central-1'],
    ['Tokyo', 35.6762, 139.6503, 'ap-northeast-1'],
    ['Sydney', -33.8688, 151.2093, 'ap-southeast-2'],
    ['São Paulo', -23.5505, -46.6333, 'sa-east-1'],
    ['Ashburn', 39.0438, -77.4874, 'us-east-1'],
    ['Dublin', 53.3498, -6.2603, 'eu-west-1'],
    ['Mumbai', 19.076, 72.8777, 'ap-south-1'],
  ])('maps %s to its AWS region', (_city, lat, lon, region) => {
    expect(new RegionLocator(awsRegions).nearest(lat, lon)).toBe(region);
  });

  it('refuses an empty region set', () => {
    expect(() => new RegionLocator([])).toThrow(/empty/);
  });

  it('maps a configured POP through its coordinates and an unknown POP to undefined', () => {
    const locator = new RegionLocator(awsRegions, new Map([['fra1', { lat: 50.03, lon: 8.57 }]]));
    expect(locator.forPop('fra1')).toBe('eu-central-1');
    expect(locator.forPop('nrt1')).toBeUndefined();
  });

  it('property: answers the brute-force nearest region at the 0.01°-snapped point', () => {
    const locator = new RegionLocator(awsRegions);
    fc.assert(
      fc.property(point, ({ lat, lon }) => {
        expect(locator.nearest(lat, lon)).toBe(bruteForceNearest(awsRegions, lat, lon));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: answers do not depend on query order or on what the cache holds', () => {
    // Points cluster in cells (as clients cluster in cities) so the cache is hit, and a tiny cache is cleared often.
    const clustered = fc.oneof(point, fc.tuple(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -5, max: 5 }), fc.double({ min: -0.005, max: 0.005, noNaN: true })).map(([a, b, j]) => ({ lat: 50 + a / 100 + j, lon: 8.7 + b / 100 - j })));
    fc.assert(
      fc.property(fc.array(clustered, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (points, cacheSize) => {
        const expected = points.map(({ lat, lon }) => bruteForceNearest(awsRegions, lat, lon));
        const forward = new RegionLocator(awsRegions, new Map(), cacheSize);
        const backward = new RegionLocator(awsRegions);
        expect(points.map(({ lat, lon }) => forward.nearest(lat, lon))).toEqual(expected);
        expect([...points].reverse().map(({ lat, lon }) => backward.nearest(lat, lon))).toEqual([...expected].reverse());
        // Asking again (all cached now) changes nothing.
        expect(points.map(({ lat, lon }) => backward.nearest(lat, lon))).toEqual(expected);
      }),
    );
  });

  it('property: every point of a 0.01° cell gets the same answer', () => {
    const locator = new RegionLocator(awsRegions);
    fc.assert(
      fc.property(fc.integer({ min: -8999, max: 8999 }), fc.integer({ min: -17999, max: 17999 }), fc.double({ min: -0.0049, max: 0.0049, noNaN: true }), fc.double({ min: -0.0049, max: 0.0049, noNaN: true }), (latCell, lonCell, dLat, dLon) => {
        const centre = locator.nearest(latCell / 100, lonCell / 100);
        expect(new RegionLocator(awsRegions).nearest(latCell / 100 + dLat, lonCell / 100 + dLon)).toBe(centre);
      }),
    );
  });
});
