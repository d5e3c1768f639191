import { greatCircleKm, Region } from '@shardcast/geo';

/** Light in fibre covers about 200 km per millisecond; a round trip covers the distance twice. */
const FIBRE_KM_PER_MS = 200;
/**
 * Cables do not follow great circles and routers add their share: over the 496 pairs of the
 * measured matrix, 1.7× the fibre time along the great circle (plus 2 ms inside the region) is
 * unbiased at the median and within 15 % of the measurement for half the pairs, 38 % for 90 %
 * (latency.unit.spec.ts holds it to 20 % at the median).
 */
const ROUTE_INFLATION = 1.7;
const IN_REGION_MS = 2;

/** Round-trip estimate from distance alone, for a region the measured matrix does not cover. */
export function greatCircleRttMs(a: Pick<Region, 'lat' | 'lon'>, b: Pick<Region, 'lat' | 'lon'>): number {
  return IN_REGION_MS + (2 * ROUTE_INFLATION * greatCircleKm(a.lat, a.lon, b.lat, b.lon)) / FIBRE_KM_PER_MS;
}

/**
 * Median round-trip times between regions: measured where the matrix has the pair (the mean of
 * A→B and B→A, which differ slightly), else estimated from the great circle between the regions'
 * coordinates. A region with neither is unknown and never a spill target.
 */
export class LatencyMatrix {
  private readonly measured = new Map<string, Map<string, number>>();
  private readonly coords = new Map<string, Region>();

  /** `matrix` is cloudping's `{"data":{SRC:{DST:ms}}}` (data/latency/README.md); `regions` the region table. */
  constructor(matrix: { data: Record<string, Record<string, number>> }, regions: readonly Region[]) {
    for (const [src, row] of Object.entries(matrix.data)) {
      for (const [dst, ms] of Object.entries(row)) {
        if (!Number.isFinite(ms) || ms < 0) continue;
        const back = matrix.data[dst]?.[src];
        const mean = back !== undefined && Number.isFinite(back) && back >= 0 ? (ms + back) / 2 : ms;
        if (!this.measured.has(src)) this.measured.set(src, new Map());
        this.measured.get(src)!.set(dst, mean);
        if (!this.measured.has(dst)) this.measured.set(dst, new Map());
        if (!this.measured.get(dst)!.has(src)) this.measured.get(dst)!.set(src, mean);
      }
    }
    for (const r of regions) this.coords.set(r.id, r);
  }

  /** Round trip in ms between two regions; null when neither measured nor locatable. */
  rttMs(a: string, b: string): number | null {
    const m = this.measured.get(a)?.get(b);
    if (m !== undefined) return m;
    const ra = this.coords.get(a);
    const rb = this.coords.get(b);
    if (!ra || !rb) return a === b ? IN_REGION_MS : null;
    return greatCircleRttMs(ra, rb);
  }

  /** Whether the pair's figure is a measurement (true) or an estimate (false). */
  isMeasured(a: string, b: string): boolean {
    return this.measured.get(a)?.get(b) !== undefined;
  }

  /**
   * The candidates other than `from`, closest first, within `maxRttMs`; ties by id so the order is
   * the same in every process.
   */
  spillOrder(from: string, candidates: Iterable<string>, maxRttMs = Infinity): string[] {
    const ranked: Array<{ id: string; ms: number }> = [];
    for (const id of candidates) {
      if (id === from) continue;
      const ms = this.rttMs(from, id);
      if (ms !== null && ms <= maxRttMs) ranked.push({ id, ms });
    }
    return ranked.sort((x, y) => x.ms - y.ms || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0)).map((r) => r.id);
  }
}
