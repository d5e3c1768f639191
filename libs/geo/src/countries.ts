/** A country's representative point (world-countries' `latlng`, data/countries/README.md). */
export interface CountryCentroid {
  code: string;
  lat: number;
  lon: number;
  name: string;
}

/** Parses `cca2,lat,lon,name` lines (data/countries/centroids.csv); the header and blank lines are skipped. */
export function parseCountryCentroids(csv: string): Map<string, CountryCentroid> {
  const out = new Map<string, CountryCentroid>();
  for (const line of csv.split(/\r?\n/)) {
    const m = /^([A-Z]{2}),(-?[\d.]+),(-?[\d.]+),"?([^"]*)"?$/.exec(line.trim());
    if (!m) continue;
    out.set(m[1], { code: m[1], lat: Number(m[2]), lon: Number(m[3]), name: m[4] });
  }
  return out;
}
