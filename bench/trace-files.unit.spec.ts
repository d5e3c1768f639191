import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { inferStepMs } from '@shardcast/forecasting';
import { csvFiles, loadCsv } from './trace-files';

/** `--data DIR` takes traces nobody here has seen: the loader reads the ways a `timestamp,value` CSV is written. */
describe('loadCsv', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'shardcast-traces-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return loadCsv(path);
  };

  it('reads space-separated UTC times, ISO times with offsets, epoch seconds and epoch milliseconds to the same instants', () => {
    const expected = [Date.UTC(2014, 3, 10, 0, 5), Date.UTC(2014, 3, 10, 0, 10)];
    expect(load('a.csv', 'timestamp,value\n2014-04-10 00:05:00,1\n2014-04-10 00:10:00,2\n').timestamps).toEqual(expected);
    expect(load('b.csv', 'timestamp,value\n2014-04-10T02:05:00+02:00,1\n2014-04-10T00:10:00Z,2\n').timestamps).toEqual(expected);
    expect(load('c.csv', `timestamp,value\n${expected[0] / 1000},1\n${expected[1] / 1000},2\n`).timestamps).toEqual(expected);
    expect(load('d.csv', `timestamp,value\n${expected[0]},1\n${expected[1]},2\n`).timestamps).toEqual(expected);
  });

  it('reads quoted cells, a byte-order mark, CRLF line ends and columns in another order', () => {
    const series = load('e.csv', '\uFEFF"value","timestamp"\r\n"3.5","2014-04-10 00:05:00"\r\n"4","2014-04-10 00:10:00"\r\n');
    expect(series).toEqual({ timestamps: [Date.UTC(2014, 3, 10, 0, 5), Date.UTC(2014, 3, 10, 0, 10)], values: [3.5, 4] });
  });

  it('keeps an empty value as a gap and drops a row whose time cannot be read', () => {
    const series = load('f.csv', 'timestamp,value\n2014-04-10 00:05:00,\nnot a time,7\n2014-04-10 00:10:00,2\n');
    expect(series.timestamps).toEqual([Date.UTC(2014, 3, 10, 0, 5), Date.UTC(2014, 3, 10, 0, 10)]);
    expect(series.values[0]).toBeNaN();
    expect(series.values[1]).toBe(2);
  });
});

/** The validation set (data/validation): the files its README lists, unchanged, each read whole. */
describe('the validation series', () => {
  const folder = resolve(__dirname, '../data/validation');
  const rows = [...readFileSync(join(folder, 'README.md'), 'utf8').matchAll(/^\| `([^`]+\.csv)` \|.*\| `([0-9a-f]{8})` \| ([\d,]+) \| [^|]+ \| `([0-9a-f]{16})` \|$/gm)].map((m) => ({ file: m[1], blob: m[2], rows: Number(m[3].replace(/,/g, '')), sha: m[4] }));
  /** Git's id of a file's bytes: the blob the README names in NAB's tree. */
  const gitBlobId = (bytes: Buffer) => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');

  it('lists every CSV in the folder, and nothing else', () => {
    expect(rows.map((r) => `nab/${r.file}`).sort()).toEqual(csvFiles(folder).map((f) => relative(folder, f)).sort());
  });

  it.each(rows.map((r) => [r.file, r] as const))('%s: the bytes its README names, every row read, at 5-minute steps', (_, r) => {
    const path = join(folder, 'nab', r.file);
    const bytes = readFileSync(path);
    expect(createHash('sha256').update(bytes).digest('hex').slice(0, 16)).toBe(r.sha);
    expect(gitBlobId(bytes).slice(0, 8)).toBe(r.blob);
    const series = loadCsv(path);
    expect(series.timestamps).toHaveLength(r.rows);
    expect(series.values.every(Number.isFinite)).toBe(true);
    expect(inferStepMs(series.timestamps)).toBe(5 * 60_000);
  });
});
