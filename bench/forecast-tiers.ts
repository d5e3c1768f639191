/**
 * The forecaster's tiers measured (docs/decisions/0032-forecast-tiers.md): which cheap method
 * serves the long tail, and how accurate each tier is.
 *
 *   npx tsx bench/forecast-tiers.ts [--data DIR] [--series 3000] [--full 60] [--selected 16] [--seed 20] [--by-base]
 *
 * Population: `--series` series built from the real sub-hourly shapes under `--data`, on the
 * service's 5-minute grid: series i takes base i mod B (its "application type"), a 9-day window of
 * it starting at a random day, shifted by a random −2…+2 h the methods do not know (two domains of
 * one type do not peak at the same minute), placed in a region with a known UTC offset, and
 * scaled to a volume that follows Zipf's law over the series (rank r: 300 / r requests per 5 min,
 * ranks shuffled over the bases); the counts are Poisson draws around that, so a tail series is as
 * sparse as a real one of its volume. The first 7 days are history (what bench:scale stores), the
 * last 2 the horizon (48 h, the service's) scored.
 *
 * Tiers: the `--full` heaviest series are the full tier, the rest the tail. On the tail, every
 * method forecasts from the 7 days alone:
 * - snaive-daily: yesterday again (the full path's cheapest candidate);
 * - own shape: level × the series' own local-hour shape;
 * - pooled shape: level × its application type's shape (pooledShapeOf over the tail's histories);
 * - shrunk (the pooled tier): own shape shrunk towards the pooled one by volume, at several
 *   strengths and level windows.
 * Quantiles: split-conformal, pooled per volume band over every tail series' holdout (the last
 * 48 h of its history forecast from the 5 days before), applied to the forecast of the next 48 h.
 * Heavy tier: the `--selected` heaviest series through selectModel + forecast (the full path, on
 * worker threads), and the pooled method on the same series for comparison.
 *
 * Scores per group: WAPE (Σ|error| / Σ actual, mean over series; defined for every series with
 * traffic) of the point forecast per 5-minute step and of hourly totals (a sparse series' steps
 * are 0 or 1, and per-step WAPE then rewards a forecast of 0, useless for capacity), MASE (in-sample daily seasonal naive of the 7 days; median over series of ≥ 1 request
 * per step, where it is defined and meaningful), coverage of the 90 % interval (p05–p95) over all
 * steps. Ends with one JSON line.
 */
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DAY_MS,
  ForecastWorkerPool,
  forecast,
  HOUR_MS,
  inferStepMs,
  intervalCoverage,
  MINUTE_MS,
  naiveScale,
  pooledCalibrationOf,
  pooledCalibrations,
  pooledHoldout,
  pooledPoint,
  pooledShapeOf,
  prepareSeries,
  applyCalibration,
  selectModel,
  wape,
} from '@shardcast/forecasting';
import type { QuantileForecast } from '@shardcast/forecasting';
import { seededRandom } from '@shardcast/telemetry';
import { csvFiles, loadCsv } from './trace-files';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: resolve(__dirname, '..', 'data', 'series') },
    series: { type: 'string', default: '3000' },
    full: { type: 'string', default: '60' },
    selected: { type: 'string', default: '16' },
    seed: { type: 'string', default: '20' },
    'by-base': { type: 'boolean', default: false },
  },
});

const STEP = 5 * MINUTE_MS;
const PER_DAY = DAY_MS / STEP;
const HISTORY = 7 * PER_DAY;
const HORIZON = 2 * PER_DAY;
const OFFSETS = [-5, 0, 1, 8, 9];
const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[(s.length >> 1) - 1] + s[s.length >> 1]) / 2) : NaN;
};
const mean = (xs: number[]) => {
  const s = xs.filter(Number.isFinite);
  return s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
};

function poisson(random: () => number, m: number): number {
  if (m > 30) return Math.max(0, Math.round(m + Math.sqrt(m) * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())));
  const limit = Math.exp(-m);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

interface Case {
  base: string;
  rank: number;
  meanPerStep: number;
  offset: number;
  /** Epoch ms of the first value (UTC). */
  startMs: number;
  history: Float64Array;
  future: Float64Array;
}

interface Scores {
  wape: number[];
  /** WAPE of hourly totals: a sparse series' 5-minute counts are 0 or 1, and per step WAPE then rewards forecasting 0. */
  wapeHourly: number[];
  mase: number[];
  inside: number;
  steps: number;
}

function score(s: Scores, c: Case, q: QuantileForecast | null, point: Float64Array): void {
  s.wape.push(wape(c.future, point));
  const hourly = (v: ArrayLike<number>) => Float64Array.from({ length: Math.floor(v.length / 12) }, (_, k) => Array.from({ length: 12 }, (_, j) => v[k * 12 + j]).reduce((a, b) => a + b, 0));
  s.wapeHourly.push(wape(hourly(c.future), hourly(point)));
  // MASE where it means something: a series of ≥ 1 request per step (sparser ones are mostly 0/1 counts).
  if (c.meanPerStep >= 1) s.mase.push(mean(Array.from(c.future, (v, h) => Math.abs(v - point[h]))) / naiveScale(c.history, PER_DAY));
  if (q) {
    s.inside += intervalCoverage(c.future, q.p05, q.p95) * c.future.length;
    s.steps += c.future.length;
  }
}

const fresh = (): Scores => ({ wape: [], wapeHourly: [], mase: [], inside: 0, steps: 0 });
const summary = (s: Scores) => ({ wape: Number(mean(s.wape).toFixed(3)), wape_hourly: Number(mean(s.wapeHourly).toFixed(3)), mase: Number(median(s.mase).toFixed(3)), mase_series: s.mase.length, coverage90: s.steps ? Number((s.inside / s.steps).toFixed(3)) : null });

async function main(): Promise<void> {
  const random = seededRandom(Number(args.seed));
  const count = Number(args.series);
  const fullCount = Number(args.full);
  // Real sub-hourly shapes on the 5-minute grid, mean 1, at least 9 days + 2 h of jitter long.
  const bases = csvFiles(args.data!)
    .map((path) => ({ name: basename(path, '.csv'), raw: loadCsv(path) }))
    .filter(({ raw }) => raw.timestamps.length > 0 && inferStepMs(raw.timestamps) < HOUR_MS)
    .map(({ name, raw }) => {
      const { grid } = prepareSeries(raw, { stepMs: STEP });
      const values = Float64Array.from(grid.values, (v) => Math.max(0, v));
      const m = values.reduce((a, b) => a + b, 0) / values.length;
      return { name, startMs: grid.startMs, values: values.map((v) => v / m) };
    })
    .filter((b) => b.values.length >= 9 * PER_DAY + 4 * 12 + PER_DAY);
  const ranks = Array.from({ length: count }, (_, i) => i + 1);
  for (let i = ranks.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ranks[i], ranks[j]] = [ranks[j], ranks[i]];
  }
  const cases: Case[] = ranks.map((rank, i) => {
    const b = bases[i % bases.length];
    // A window starting at a random whole day of the base (its own time of day kept), jittered.
    const days = Math.floor((b.values.length - 9 * PER_DAY - 48) / PER_DAY);
    const from = Math.floor(random() * days) * PER_DAY + 24 + Math.round((random() * 4 - 2) * 12);
    const meanPerStep = 300 / rank;
    const values = Float64Array.from({ length: 9 * PER_DAY }, (_, j) => poisson(random, meanPerStep * b.values[from + j]));
    const offset = OFFSETS[i % OFFSETS.length];
    // The base's stamps are its local time: in UTC the series starts `offset` hours earlier.
    const startMs = b.startMs + (from - 24) * STEP - offset * HOUR_MS;
    return { base: b.name, rank, meanPerStep, offset, startMs, history: values.subarray(0, HISTORY), future: values.subarray(HISTORY) };
  });
  cases.sort((a, b) => a.rank - b.rank);
  const heavy = cases.slice(0, fullCount);
  const tail = cases.slice(fullCount);
  const gridOf = (c: Case) => ({ startMs: c.startMs, stepMs: STEP, values: c.history });
  console.log(`population: ${count} series from ${bases.length} real shapes (${bases.map((b) => b.name).join(', ')}); volumes 300/r per 5 min; full tier ${fullCount}, tail ${tail.length} (${tail.filter((c) => c.meanPerStep < 1).length} of them under 1 request per step)`);

  const shapes = new Map<string, number[]>();
  const t0 = performance.now();
  for (const b of bases) shapes.set(b.name, pooledShapeOf(tail.filter((c) => c.base === b.name).map((c) => ({ grid: gridOf(c), utcOffsetHours: c.offset })))!);
  const poolMs = performance.now() - t0;

  const flat = new Array(24).fill(1);
  type Method = { name: string; strength: number; levelDays: number };
  const methods: Method[] = [
    { name: 'own shape', strength: 0, levelDays: 7 },
    { name: 'pooled shape', strength: 1e12, levelDays: 7 },
    { name: 'shrunk, strength 500', strength: 500, levelDays: 7 },
    { name: 'shrunk, strength 2000', strength: 2000, levelDays: 7 },
    { name: 'shrunk, strength 10000', strength: 10000, levelDays: 7 },
    { name: 'shrunk 2000, level of 3 days', strength: 2000, levelDays: 3 },
    { name: 'shrunk 2000, level of 1 day (the pooled tier)', strength: 2000, levelDays: 1 },
  ];
  const bandOf = (c: Case) => (c.meanPerStep < 0.1 ? '<0.1' : c.meanPerStep < 1 ? '0.1-1' : c.meanPerStep < 10 ? '1-10' : '≥10');
  const results: Record<string, unknown> = {};
  const lines: string[] = [];
  const row = (name: string, s: Scores, extra = '') => {
    const r = summary(s);
    lines.push(`${name.padEnd(44)} WAPE ${r.wape.toFixed(3)} (hourly ${r.wape_hourly.toFixed(3)})  MASE ${Number.isFinite(r.mase) ? r.mase.toFixed(3) : '  —  '} (${String(r.mase_series).padStart(4)} series)  coverage90 ${r.coverage90 ?? '  —  '}${extra}`);
    return r;
  };

  // Seasonal naive daily on the tail: yesterday again, with its pooled calibration too.
  {
    const s = fresh();
    const snaive = (values: Float64Array, end: number) => Float64Array.from({ length: HORIZON }, (_, h) => values[end - PER_DAY + (h % PER_DAY)]);
    const holdouts = tail.map((c) => {
      const points = snaive(c.history, HISTORY - HORIZON);
      return { points, residuals: Float64Array.from(points, (p, h) => c.history[HISTORY - HORIZON + h] - p), meanPerStep: mean(Array.from(c.history.subarray(0, HISTORY - HORIZON))) };
    });
    const cal = pooledCalibrations(holdouts);
    for (const c of tail) {
      const point = snaive(c.history, HISTORY);
      score(s, c, applyCalibration(point, pooledCalibrationOf(cal, mean(Array.from(c.history))).calibration), point);
    }
    results['tail snaive-daily'] = row('tail: snaive-daily', s);
  }
  let perSeriesMs = 0;
  for (const m of methods) {
    const s = fresh();
    const byBand = new Map<string, Scores>();
    const opts = { horizon: HORIZON, shapeStrength: m.strength, levelDays: m.levelDays };
    const byBase = new Map<string, Scores>();
    const started = performance.now();
    const holdouts = tail.map((c) => pooledHoldout(gridOf(c), c.offset, shapes.get(c.base) ?? flat, opts)!);
    const cal = pooledCalibrations(holdouts);
    for (const c of tail) {
      const point = pooledPoint(gridOf(c), c.offset, shapes.get(c.base) ?? flat, opts);
      const q = applyCalibration(point, pooledCalibrationOf(cal, mean(Array.from(c.history))).calibration);
      score(s, c, q, point);
      const band = bandOf(c);
      if (!byBand.has(band)) byBand.set(band, fresh());
      score(byBand.get(band)!, c, q, point);
      if (!byBase.has(c.base)) byBase.set(c.base, fresh());
      score(byBase.get(c.base)!, c, q, point);
    }
    const ms = (performance.now() - started) / tail.length;
    if (m.strength === 2000 && m.levelDays === 1) perSeriesMs = ms;
    results[`tail ${m.name}`] = row(`tail: ${m.name}`, s, `  (${ms.toFixed(3)} ms per series, holdout included)`);
    if (args['by-base']) for (const [b, sc] of byBase) row(`    ${b}`, sc);
    if (m.strength === 2000 && m.levelDays === 1) {
      for (const band of ['≥10', '1-10', '0.1-1', '<0.1']) if (byBand.has(band)) results[`tail pooled band ${band}`] = row(`  requests per step ${band} (${byBand.get(band)!.wape.length} series)`, byBand.get(band)!);
    }
  }

  // Heavy tier: the full path (selection + production forecast) against the pooled tier on the same series.
  const selected = heavy.slice(0, Number(args.selected));
  const pool = new ForecastWorkerPool({});
  try {
    const full = fresh();
    const pooledOnHeavy = fresh();
    const now = new Date();
    const started = performance.now();
    const holdouts = tail.map((c) => pooledHoldout(gridOf(c), c.offset, shapes.get(c.base) ?? flat, { horizon: HORIZON })!);
    const cal = pooledCalibrations(holdouts);
    await Promise.all(
      selected.map(async (c) => {
        const series = { timestamps: Array.from(c.history, (_, i) => c.startMs + i * STEP), values: Array.from(c.history) };
        const selection = await selectModel(series, { now, stepMs: STEP, horizon: HORIZON }, pool);
        const f = await forecast(series, selection, pool, { horizon: HORIZON });
        score(full, c, f.quantiles, f.quantiles.p50);
        const point = pooledPoint(gridOf(c), c.offset, shapes.get(c.base) ?? flat, { horizon: HORIZON });
        score(pooledOnHeavy, c, applyCalibration(point, pooledCalibrationOf(cal, mean(Array.from(c.history))).calibration), point);
      }),
    );
    const fullMs = (performance.now() - started) / selected.length;
    results['heavy full'] = row(`heavy (${selected.length} heaviest): full selection`, full, `  (${fullMs.toFixed(0)} ms per series wall, ${pool.size} workers)`);
    results['heavy pooled'] = row(`heavy (${selected.length} heaviest): pooled tier`, pooledOnHeavy);
  } finally {
    await pool.close();
  }
  console.log(lines.join('\n'));
  console.log(`pooled shapes: ${poolMs.toFixed(0)} ms for ${tail.length} series; pooled tier ${perSeriesMs.toFixed(3)} ms per series (forecast + holdout + calibration lookup)`);
  console.log(JSON.stringify({ bench: 'forecast-tiers', series: count, full: fullCount, pooled_ms_per_series: Number(perSeriesMs.toFixed(3)), ...results }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
