import { ClientSubnet, cidrProblem, subnetsByRegion } from '../client-subnets';
import { GeoAnswer, GeoRecord, geoProblems } from '../records';
import { RenderRefused } from './zone-file';

// A map is the same for every zone: checked and grouped once per map (array identity), not per zone.
const checked = new WeakMap<readonly ClientSubnet[], { byRegion: ReadonlyMap<string, readonly string[]>; problems: string[] }>();

function checkedMap(map: readonly ClientSubnet[]): { byRegion: ReadonlyMap<string, readonly string[]>; problems: string[] } {
  const hit = checked.get(map);
  if (hit) return hit;
  const problems: string[] = [];
  for (const s of map) {
    const p = cidrProblem(s.cidr);
    if (p) problems.push(`client subnet ${s.cidr}: ${p}`);
  }
  const out = { byRegion: subnetsByRegion(map), problems };
  checked.set(map, out);
  return out;
}

/**
 * The configuration file of Knot's geoip module in `mode: subnet` for a zone's geo records: per
 * name, per client subnet, the answer of the subnet's region (or the subnet's own, in a capacity split). A client matching no subnet gets
 * the zone's static records (the fallback, in the zone file). Knot cannot say "no answer" for one
 * subnet: a region answered nothing (fail-closed) is left out and its clients get the fallback,
 * which fail-closed also empties once every shard is down (with `topN` at least the number of
 * shards, all regions fail together). Everything is validated first; the YAML is written from
 * validated tokens only, so no quoting is needed and nothing can inject structure.
 */
export function renderKnotGeoip(geo: readonly GeoRecord[], map: readonly ClientSubnet[]): string {
  const { byRegion, problems: mapProblems } = checkedMap(map);
  const problems: string[] = [];
  for (const g of geo) problems.push(...geoProblems(g));
  problems.push(...mapProblems);
  if (problems.length > 0) throw new RenderRefused(problems);
  const lines: string[] = [];
  for (const g of [...geo].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const entries: string[] = [];
    for (const [region, cidrs] of byRegion) {
      for (const cidr of cidrs) {
        const answer: GeoAnswer | undefined = g.bySubnet?.[cidr] ?? g.byClientRegion[region];
        if (!answer || answer.kind === 'none') continue;
        entries.push(`  - net: ${cidr}`);
        if (answer.kind === 'cname') entries.push(`    CNAME: ${answer.target}.`);
        else {
          if (answer.ipv4.length > 0) entries.push(`    A: [${answer.ipv4.join(', ')}]`);
          if (answer.ipv6.length > 0) entries.push(`    AAAA: [${answer.ipv6.join(', ')}]`);
        }
      }
    }
    if (entries.length === 0) continue;
    lines.push(`${g.name}.:`, ...entries);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
