export interface Region {
  id: string;
  name: string;
  lat: number;
  lon: number;
}

/**
 * Parses the region table format of cloud-region-coords (`name;displayName;zones;lat;lon` per
 * line, optionally inside a JS template literal). Lines that are not regions are ignored.
 */
export function parseRegionTable(text: string): Region[] {
  const body = text.includes('`') ? text.slice(text.indexOf('`') + 1, text.lastIndexOf('`')) : text;
  const regions: Region[] = [];
  for (const line of body.split(/\r?\n/)) {
    const parts = line.split(';').map((p) => p.trim());
    if (parts.length < 5 || parts[0].startsWith('#')) continue;
    const lat = Number(parts[3]);
    const lon = Number(parts[4]);
    if (!parts[0] || !Number.isFinite(lat) || !Number.isFinite(lon)) continue;
    regions.push({ id: parts[0], name: parts[1], lat, lon });
  }
  return regions;
}

/** Keeps the regions named in `ids` (the configured region set); unknown ids are an error. */
export function selectRegions(all: Region[], ids: string[] | undefined): Region[] {
  if (!ids || ids.length === 0) return all;
  const byId = new Map(all.map((r) => [r.id, r]));
  const unknown = ids.filter((id) => !byId.has(id));
  if (unknown.length > 0) throw new Error(`unknown region id(s): ${unknown.join(', ')}`);
  return ids.map((id) => byId.get(id)!);
}
