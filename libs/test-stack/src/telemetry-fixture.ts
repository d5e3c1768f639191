import { ReplayRecord, seededRandom } from '@shardcast/telemetry';

/**
 * Synthetic telemetry with known totals, for tests and benchmarks. Cities come with the region a
 * human would expect them to map to, so region mapping is checked, not assumed.
 */
export const FIXTURE_CITIES = [
  { name: 'Frankfurt', lat: 50.11, lon: 8.68, region: 'eu-central-1' },
  { name: 'Tokyo', lat: 35.68, lon: 139.69, region: 'ap-northeast-1' },
  { name: 'Sydney', lat: -33.87, lon: 151.21, region: 'ap-southeast-2' },
  { name: 'Sao Paulo', lat: -23.55, lon: -46.63, region: 'sa-east-1' },
  { name: 'Ashburn', lat: 39.04, lon: -77.49, region: 'us-east-1' },
  { name: 'Dublin', lat: 53.35, lon: -6.26, region: 'eu-west-1' },
  { name: 'Mumbai', lat: 19.08, lon: 72.88, region: 'ap-south-1' },
] as const;

/** The same record shape the demo's trace replay produces. */
export type FixtureRecord = ReplayRecord;

export { seededRandom };

export interface FixtureTotals {
  requests: number;
  errors: number;
  bytes: number;
  byDomain: Map<string, number>;
  byRegion: Map<string, number>;
}

/**
 * `count` valid records for `domains` domains, event time rising from `startMs` by `stepMs`. Each
 * record's domain is drawn uniformly, or with `zipfS` by Zipf's law: `app<r>.example.com` (rank
 * r + 1) drawn with probability ∝ 1 / (r + 1)^zipfS, so a few domains send most of the traffic and
 * most domains a handful of records, as for a hosting provider.
 */
export function generateTelemetry(count: number, options: { seed?: number; domains?: number; startMs?: number; stepMs?: number; zipfS?: number } = {}): FixtureRecord[] {
  const random = seededRandom(options.seed ?? 42);
  const domains = Array.from({ length: options.domains ?? 12 }, (_, i) => `app${i}.example.com`);
  const domainIndex = options.zipfS === undefined ? (u: number) => Math.floor(u * domains.length) : zipfSampler(domains.length, options.zipfS);
  const start = options.startMs ?? Date.UTC(2014, 3, 10);
  const step = options.stepMs ?? 20;
  const out: FixtureRecord[] = [];
  for (let i = 0; i < count; i++) {
    const city = FIXTURE_CITIES[Math.floor(random() * FIXTURE_CITIES.length)];
    out.push({
      domain: domains[domainIndex(random())],
      timestamp: start + Math.floor(i * step), // a fractional step packs several records per ms
      client: { lat: city.lat + (random() - 0.5) * 0.4, lon: city.lon + (random() - 0.5) * 0.4 },
      status: random() < 0.02 ? 503 : 200,
      latencyMs: Math.round(5 + random() * 300),
      bytes: Math.floor(random() * 50_000),
    });
  }
  return out;
}

/** Maps a uniform draw u in [0, 1) to a rank in [0, n) with P(rank r) ∝ 1 / (r + 1)^s (inverse CDF). */
function zipfSampler(n: number, s: number): (u: number) => number {
  const key = `${n}:${s}`;
  let cdf = zipfCdfs.get(key);
  if (!cdf) {
    cdf = new Float64Array(n);
    let sum = 0;
    for (let r = 0; r < n; r++) cdf[r] = sum += 1 / Math.pow(r + 1, s);
    for (let r = 0; r < n; r++) cdf[r] /= sum;
    zipfCdfs.set(key, cdf);
  }
  const table = cdf;
  return (u) => {
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (table[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}
// Benchmarks generate in chunks with the same n and s: the CDF is built once.
const zipfCdfs = new Map<string, Float64Array>();

export function totalsOf(records: FixtureRecord[]): FixtureTotals {
  const totals: FixtureTotals = { requests: 0, errors: 0, bytes: 0, byDomain: new Map(), byRegion: new Map() };
  for (const r of records) {
    totals.requests += 1;
    if (r.status >= 500) totals.errors += 1;
    totals.bytes += r.bytes;
    totals.byDomain.set(r.domain, (totals.byDomain.get(r.domain) ?? 0) + 1);
    const city = FIXTURE_CITIES.find((c) => Math.abs(c.lat - r.client.lat) <= 0.2 && Math.abs(c.lon - r.client.lon) <= 0.2)!;
    totals.byRegion.set(city.region, (totals.byRegion.get(city.region) ?? 0) + 1);
  }
  return totals;
}

/** One of each way a message can be wrong, cycled: every one must reach the DLQ. */
export function malformedMessages(count: number): Array<{ value: string; code: string }> {
  const kinds: Array<{ value: string; code: string }> = [
    { value: '{"domain":"app0.example.com",', code: 'TELEMETRY_MALFORMED_JSON' },
    { value: 'not json at all', code: 'TELEMETRY_MALFORMED_JSON' },
    { value: JSON.stringify({ domain: 'bad_domain!.com', timestamp: 1, client: { lat: 0, lon: 0 }, status: 200, latencyMs: 1, bytes: 1 }), code: 'TELEMETRY_INVALID_DOMAIN' },
    { value: JSON.stringify({ domain: 'a'.repeat(64) + '.com', timestamp: 1, client: { lat: 0, lon: 0 }, status: 200, latencyMs: 1, bytes: 1 }), code: 'TELEMETRY_INVALID_DOMAIN' },
    { value: JSON.stringify({ domain: 'ok.example.com', timestamp: 1, client: { lat: 95, lon: 0 }, status: 200, latencyMs: 1, bytes: 1 }), code: 'TELEMETRY_INVALID_LOCATION' },
    { value: JSON.stringify({ domain: 'ok.example.com', timestamp: 1, client: { lat: 1, lon: 1 }, status: 999, latencyMs: 1, bytes: 1 }), code: 'TELEMETRY_INVALID_RECORD' },
    { value: JSON.stringify({ domain: 'ok.example.com', client: { lat: 1, lon: 1 }, status: 200, latencyMs: 1, bytes: 1 }), code: 'TELEMETRY_INVALID_RECORD' },
    { value: JSON.stringify({ domain: 'ok.example.com', timestamp: 1, client: { lat: 1, lon: 1 }, status: 200, latencyMs: -4, bytes: 1 }), code: 'TELEMETRY_INVALID_RECORD' },
  ];
  return Array.from({ length: count }, (_, i) => kinds[i % kinds.length]);
}
