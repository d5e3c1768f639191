/**
 * Builds dns-publisher's client subnet map (data/client-subnets/ipv4.csv: cidr,region) from the
 * legacy GeoLite Country database Debian ships (`geoip-database`, /usr/share/GeoIP/GeoIP.dat):
 * every IPv4 prefix of its trie → its country (named by `geoiplookup`, from Debian's `geoip-bin`,
 * on one address of each country) → the nearest region to the country's centroid (the rule
 * ingest and the forecaster use) → a coarse map of /`--bits` blocks (`coarsenIpv4`).
 *
 *   npx tsx scripts/build-client-subnets.ts [--db /usr/share/GeoIP/GeoIP.dat] [--bits 8] [--out data/client-subnets/ipv4.csv]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { coarsenIpv4, numberToIpv4, readCountryPrefixes } from '@shardcast/dns';
import { LatencyMatrix } from '@shardcast/allocation';
import { MarketMap, parseCountryCentroids, parseRegionTable } from '@shardcast/geo';

const ROOT = resolve(__dirname, '..');
const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: '/usr/share/GeoIP/GeoIP.dat' },
    bits: { type: 'string', default: '8' },
    out: { type: 'string', default: resolve(ROOT, 'data/client-subnets/ipv4.csv') },
  },
});

const prefixes = readCountryPrefixes(readFileSync(args.db));
const markets = new MarketMap(parseRegionTable(readFileSync(resolve(ROOT, 'data/regions/awsData.js'), 'utf8')), parseCountryCentroids(readFileSync(resolve(ROOT, 'data/countries/centroids.csv'), 'utf8')));

// The country table is inside libGeoIP, not the file: ask geoiplookup about one address per index.
const codeOf = new Map<number, string | null>();
for (const p of prefixes) {
  if (codeOf.has(p.countryIndex)) continue;
  const out = execFileSync('geoiplookup', ['-f', args.db, numberToIpv4(p.network)], { encoding: 'utf8' });
  const m = /Edition: ([A-Z0-9]{2}),/.exec(out);
  codeOf.set(p.countryIndex, m ? m[1] : null);
}
let unmapped = 0;
const fine = prefixes.map((p) => {
  const code = codeOf.get(p.countryIndex) ?? null;
  const region = code ? (markets.regionOfCountry(code) ?? null) : null;
  if (code && !region) unmapped += 2 ** (32 - p.bits);
  return { network: p.network, bits: p.bits, region };
});
const { subnets, accuracy } = coarsenIpv4(fine, Number(args.bits));
writeFileSync(args.out, `cidr,region\n${subnets.map((s) => `${s.cidr},${s.region}`).join('\n')}\n`);
const regions = new Set(subnets.map((s) => s.region));
// What a coarse block costs a client: the round trip from its own region to the block's, by address.
const latency = new LatencyMatrix(JSON.parse(readFileSync(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json'), 'utf8')), parseRegionTable(readFileSync(resolve(ROOT, 'data/regions/awsData.js'), 'utf8')));
const coarse = new Map(subnets.map((s) => [s.cidr, s.region]));
const coarseRegionOf = (network: number): string | null => {
  for (let b = 32; b >= 0; b--) {
    const net = b === 0 ? 0 : (network & ((0xffffffff << (32 - b)) >>> 0)) >>> 0;
    const r = coarse.get(`${numberToIpv4(net)}/${b}`);
    if (r) return r;
  }
  return null;
};
let known = 0;
let within20 = 0;
let extraMs = 0;
for (const p of fine) {
  if (!p.region) continue;
  const size = 2 ** (32 - p.bits);
  const c = coarseRegionOf(p.network);
  const ms = c === null ? 300 : c === p.region ? 0 : (latency.rttMs(p.region, c) ?? 300);
  known += size;
  extraMs += ms * size;
  if (ms <= 20) within20 += size;
}
console.log(`mapped within 20 ms of its own region: ${((within20 / known) * 100).toFixed(1)} % of known addresses; mean extra round trip ${(extraMs / known).toFixed(1)} ms`);
console.log(`${prefixes.length} prefixes in ${codeOf.size} countries → ${subnets.length} subnets /${args.bits} over ${regions.size} regions, accuracy ${(accuracy * 100).toFixed(1)} % of known addresses; ${unmapped} addresses in countries without a centroid; wrote ${args.out}`);
