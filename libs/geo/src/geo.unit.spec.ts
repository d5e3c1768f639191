import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CountryCodes } from '@shardcast/contracts';
import { MarketMap, parseCountryCentroids, parseRegionTable } from './index';

const ROOT = resolve(__dirname, '../../..');
const regions = parseRegionTable(readFileSync(resolve(ROOT, 'data/regions/awsData.js'), 'utf8'));
const countries = parseCountryCentroids(readFileSync(resolve(ROOT, 'data/countries/centroids.csv'), 'utf8'));
const map = new MarketMap(regions, countries);

describe('MarketMap', () => {
  it('has a centroid for every country code the registration contract accepts', () => {
    expect(CountryCodes.filter((c) => !countries.has(c))).toEqual([]);
  });

  it.each([
    ['DE', 'eu-central-1'],
    ['BR', 'sa-east-1'],
    ['JP', 'ap-northeast-1'],
    ['AU', 'ap-southeast-4'],
    ['IN', 'ap-south-2'],
    ['ZA', 'af-south-1'],
  ])('maps %s to its nearest region %s', (country, region) => {
    expect(map.regionOfCountry(country)).toBe(region);
  });

  it('maps a country by the same rule as a client at its centroid', () => {
    for (const c of countries.values()) expect(map.regionOfCountry(c.code)).toBe(map.regionAt(c.lat, c.lon));
  });

  it('merges markets served by one region and normalises the shares', () => {
    const shares = map.regionShares([{ country: 'DE', share: 0.3 }, { region: 'eu-central-1', share: 0.3 }, { country: 'BR', share: 0.2 }]);
    expect(shares.map((s) => s.region)).toEqual(['eu-central-1', 'sa-east-1']);
    expect(shares[0].share).toBeCloseTo(0.75, 12);
    expect(shares[1].share).toBeCloseTo(0.25, 12);
    expect(() => map.regionShares([{ region: 'mars-1', share: 1 }])).toThrow(/unknown region mars-1/);
  });

  it('puts local time by longitude: Tokyo ahead of UTC, São Paulo behind', () => {
    expect(map.utcOffsetHours('ap-northeast-1')).toBeCloseTo(9.3, 1);
    expect(map.utcOffsetHours('sa-east-1')).toBeCloseTo(-3.16, 1);
  });
});
