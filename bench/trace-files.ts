import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DemandSeries } from '@shardcast/forecasting';

/**
 * A CSV trace: header `timestamp,value` (seconds, milliseconds or ISO times); Wikimedia's
 * `Date,Total,Desktop site,…` uses `Desktop site` (no 2014-09 jump). Empty values are gaps. Cells
 * may be quoted, as spreadsheets and some exporters write them (no commas inside quotes).
 */
export function loadCsv(path: string): DemandSeries {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  const cellsOf = (line: string) => line.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1').trim());
  const header = cellsOf(lines[0].replace(/^\uFEFF/, '')).map((h) => h.toLowerCase());
  const timeCol = Math.max(0, header.findIndex((h) => h === 'timestamp' || h === 'date' || h === 'time'));
  let valueCol = header.indexOf('value');
  if (valueCol < 0) valueCol = header.indexOf('desktop site');
  if (valueCol < 0) valueCol = timeCol === 0 ? 1 : 0;
  const timestamps: number[] = [];
  const values: number[] = [];
  for (const line of lines.slice(1)) {
    const cells = cellsOf(line);
    const raw = cells[timeCol] ?? '';
    const t = /^\d+(\.\d+)?$/.test(raw)
      ? Number(raw) * (Number(raw) < 1e11 ? 1000 : 1)
      : Date.parse(/^\d{4}-\d\d-\d\d$/.test(raw) ? `${raw}T00:00:00Z` : `${raw.replace(' ', 'T')}${/[zZ]|[+-]\d\d:?\d\d$/.test(raw) ? '' : 'Z'}`);
    const v = cells[valueCol] === '' ? NaN : Number(cells[valueCol]);
    if (Number.isFinite(t)) {
      timestamps.push(t);
      values.push(v);
    }
  }
  return { timestamps, values };
}

/** Every CSV under `dir`, recursively, sorted. */
export function csvFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? csvFiles(p) : f.toLowerCase().endsWith('.csv') ? [p] : [];
    })
    .sort();
}
