/**
 * Turns a real series of request counts over time into per-request telemetry records. The real
 * data has counts, not client locations; locations are drawn from a stated regional mix (the demo
 * prints that mix next to its results, so nobody mistakes it for measured geography).
 */

export interface CountPoint {
  timestampMs: number;
  count: number;
}

export interface ClientArea {
  name: string;
  lat: number;
  lon: number;
  /** Share of the traffic from here; shares are normalised. */
  share: number;
}

export interface ReplayRecord {
  domain: string;
  timestamp: number;
  client: { lat: number; lon: number };
  status: number;
  latencyMs: number;
  bytes: number;
}

/** The demo's stated mix: where its simulated clients are. */
export const DEMO_CLIENT_MIX: ClientArea[] = [
  { name: 'New York', lat: 40.71, lon: -74.0, share: 0.22 },
  { name: 'San Francisco', lat: 37.77, lon: -122.42, share: 0.13 },
  { name: 'London', lat: 51.51, lon: -0.13, share: 0.14 },
  { name: 'Frankfurt', lat: 50.11, lon: 8.68, share: 0.14 },
  { name: 'Tokyo', lat: 35.68, lon: 139.69, share: 0.12 },
  { name: 'Mumbai', lat: 19.08, lon: 72.88, share: 0.09 },
  { name: 'Sao Paulo', lat: -23.55, lon: -46.63, share: 0.08 },
  { name: 'Sydney', lat: -33.87, lon: 151.21, share: 0.08 },
];

/** Parses `timestamp,value` CSV (NAB format; timestamps without zone are taken as UTC). */
export function parseCountCsv(text: string): CountPoint[] {
  const points: CountPoint[] = [];
  for (const line of text.split(/\r?\n/).slice(1)) {
    const [ts, value] = line.split(',');
    if (!ts || value === undefined) continue;
    const timestampMs = Date.parse(ts.includes('T') || /[zZ+]/.test(ts) ? ts : `${ts.replace(' ', 'T')}Z`);
    const count = Math.round(Number(value));
    if (Number.isFinite(timestampMs) && Number.isFinite(count) && count >= 0) points.push({ timestampMs, count });
  }
  return points;
}

/**
 * Expands each point into `round(count × scale)` requests spread uniformly over the interval up to
 * the next point, in event-time order. Deterministic for a seed.
 */
export function* expandCountsToRequests(
  points: CountPoint[],
  domain: string,
  mix: ClientArea[],
  options: { seed: number; scale?: number; defaultIntervalMs?: number },
): Generator<ReplayRecord> {
  const random = seededRandom(options.seed);
  const totalShare = mix.reduce((s, a) => s + a.share, 0);
  const scale = options.scale ?? 1;
  for (let i = 0; i < points.length; i++) {
    const interval = i + 1 < points.length ? points[i + 1].timestampMs - points[i].timestampMs : (options.defaultIntervalMs ?? 300_000);
    const n = Math.round(points[i].count * scale);
    const offsets = Array.from({ length: n }, () => Math.floor(random() * Math.max(1, interval))).sort((a, b) => a - b);
    for (const offset of offsets) {
      let pick = random() * totalShare;
      let area = mix[0];
      for (const candidate of mix) {
        pick -= candidate.share;
        if (pick <= 0) {
          area = candidate;
          break;
        }
      }
      yield {
        domain,
        timestamp: points[i].timestampMs + offset,
        client: { lat: area.lat + (random() - 0.5) * 0.5, lon: area.lon + (random() - 0.5) * 0.5 },
        status: random() < 0.005 ? 502 : 200,
        latencyMs: Math.round(20 + 200 * -Math.log(1 - random() * 0.999)) / 10,
        bytes: Math.floor(2_000 + random() * 60_000),
      };
    }
  }
}

/** Small deterministic PRNG (mulberry32): replays and fixtures reproduce from their seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
