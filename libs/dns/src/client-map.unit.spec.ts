import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { coarsenIpv4 } from './coarsen';
import { cidrProblem, clientRegionOf, ipv4ToNumber, parseClientSubnets } from './client-subnets';
import { COUNTRY_BEGIN, readCountryPrefixes } from './geoip-legacy';

/** A trie as GeoIP.dat lays it out: per node two 3-byte little-endian records. */
function trie(nodes: Array<[number, number]>): Uint8Array {
  const out = new Uint8Array(nodes.length * 6);
  nodes.forEach(([l, r], i) => {
    for (const [k, v] of [[0, l], [1, r]] as const) {
      out[i * 6 + k * 3] = v & 255;
      out[i * 6 + k * 3 + 1] = (v >> 8) & 255;
      out[i * 6 + k * 3 + 2] = (v >> 16) & 255;
    }
  });
  return out;
}

describe('readCountryPrefixes', () => {
  it('walks the trie: every leaf is a prefix with its country index, in address order', () => {
    const db = trie([
      [COUNTRY_BEGIN + 5, 1],
      [COUNTRY_BEGIN + 7, COUNTRY_BEGIN],
    ]);
    expect(readCountryPrefixes(db)).toEqual([
      { network: 0, bits: 1, countryIndex: 5 },
      { network: ipv4ToNumber('128.0.0.0'), bits: 2, countryIndex: 7 },
      { network: ipv4ToNumber('192.0.0.0'), bits: 2, countryIndex: 0 },
    ]);
  });

  it('refuses a truncated file instead of reading past it', () => {
    expect(() => readCountryPrefixes(trie([[COUNTRY_BEGIN + 1, 5]]))).toThrow(/past the end/);
  });
});

describe('coarsenIpv4', () => {
  it('gives each block its majority region, merges equal siblings, and says how many addresses it maps right', () => {
    const fine = [
      { network: ipv4ToNumber('2.0.0.0'), bits: 9, region: 'eu-west-1' }, // half of 2/8
      { network: ipv4ToNumber('2.128.0.0'), bits: 10, region: 'eu-central-1' }, // a quarter
      { network: ipv4ToNumber('3.0.0.0'), bits: 8, region: 'eu-west-1' },
      { network: ipv4ToNumber('4.0.0.0'), bits: 8, region: null },
      { network: ipv4ToNumber('6.0.0.0'), bits: 7, region: 'us-east-1' }, // 6/8 and 7/8
    ];
    const { subnets, accuracy } = coarsenIpv4(fine, 8);
    expect(subnets).toEqual([
      { cidr: '2.0.0.0/7', region: 'eu-west-1' },
      { cidr: '6.0.0.0/7', region: 'us-east-1' },
    ]);
    // Known: 2/9 + 2.128/10 + 3/8 + 6/7 = 0.5 + 0.25 + 1 + 2 blocks; wrong: the eu-central quarter.
    expect(accuracy).toBeCloseTo(3.5 / 3.75, 9);
    for (const s of subnets) expect(cidrProblem(s.cidr)).toBeNull();
    expect(clientRegionOf(subnets, '3.1.2.3')).toBe('eu-west-1');
    expect(clientRegionOf(subnets, '7.255.0.1')).toBe('us-east-1');
    expect(clientRegionOf(subnets, '4.4.4.4')).toBeNull();
  });
});

describe('the shipped client subnet map (data/client-subnets/ipv4.csv)', () => {
  const map = parseClientSubnets(readFileSync(resolve(__dirname, '../../../data/client-subnets/ipv4.csv'), 'utf8'));

  it('is valid, does not overlap, and maps well-known networks to their continent', () => {
    expect(map.length).toBeGreaterThan(100);
    const spans = map.map((s) => {
      const [net, bits] = s.cidr.split('/');
      return [ipv4ToNumber(net), ipv4ToNumber(net) + 2 ** (32 - Number(bits))];
    });
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
    expect(clientRegionOf(map, '81.2.69.142')).toMatch(/^eu-/); // a UK network
    expect(clientRegionOf(map, '24.0.0.1')).toMatch(/^(us|ca)-/); // a North American cable network
    expect(clientRegionOf(map, '1.128.0.1')).toMatch(/^ap-southeast-/); // an Australian network
  });
});
