/**
 * Forecast benchmark: rolling-origin backtest of shardcast's model selection against Prophet alone,
 * seasonal naive and ETS, over every CSV in a folder.
 *
 *   npm run bench:forecast [-- --data DIR] [--workers N] [--test-origins N] [--origins N] [--spacing HORIZONS] [--repeat 3]
 *                          [--skip-production] [--production-series 10000]
 *
 * Protocol (no look-ahead):
 * - Each CSV becomes one series at its own inferred step, gap-filled on a regular grid.
 * - Horizon H = one day at the series step (7 steps for daily data).
 * - Test origins: the last T days (T = 7, fewer for short series so ≥ 70 % of the series stays
 *   history), one origin per H steps, non-overlapping.
 * - Model selection and conformal calibration run once per series, on the data before the first
 *   test origin only (the scheduled job), with the library's default 16 inner rolling origins,
 *   one day apart (one week for daily data).
 * - At every test origin, each method forecasts H steps from the data before that origin
 *   (bounded 28-day window); errors count only on observed (not gap-filled) steps.
 * - MASE = MAE over all test steps / in-sample MAE of seasonal naive with the daily period (weekly
 *   for daily data) on the history before the first test origin; overall = plain mean over series.
 * - Seasonal-naive baseline: daily or weekly, whichever the same training-part backtest picked;
 *   the hindsight-best of the two is printed for reference.
 * - mase_selected_point: the selected model's own point forecast (before calibration), beside
 *   mase_selected (the calibrated p50). mase_median4: the library's fixed `median-4` candidate on
 *   every series, no selection: the per-step median of seasonal naive daily, seasonal naive weekly,
 *   MSTL and Prophet (of those that fit, at least two), the strongest simple baseline.
 * - pinball = mean pinball loss over p10/p50/p90/p99; pinball_p90, pinball_p99 alone; each scaled
 *   by the series' MASE denominator. coverage80/90: p10–p90, p05–p95; coverage99: one-sided,
 *   the share of actuals at or below p99 (nominal 0.99; what enterprise provisioning uses).
 * - Cold start (bench/forecast/cold-start.ts, which states the protocol): on each sub-daily series,
 *   origins every 3 h from the first test origin; a registration whose user base is the peak
 *   hourly rate of the 7 days before the origin and whose market is the series' region; forecasts
 *   from the registration alone and with 1, 6 and 24 h of data after the origin, through the
 *   forecaster's own library calls; each scored by WAPE on the 24 h after its data:
 *   cold_wape_0h, _1h, _6h, _24h (mean over series).
 * - series/s: the production path alone (fit the selected model, predict, calibrate) for every
 *   (series, test origin), all submitted at once to the worker pool, median of 3 passes;
 *   selection is timed apart.
 * - production_series_per_s, bytes_per_event: the service's own scheduled re-forecast of 10,000
 *   series on the stack (bench/forecast-production.ts); `--skip-production` leaves them out.
 */
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CandidateName,
  DemandSeries,
  ForecastWorkerPool,
  ModelSelection,
  QuantileKey,
  forecast,
  forecastCandidates,
  intervalCoverage,
  naiveScale,
  pinballLoss,
  prepareSeries,
  quantileCoverage,
  scalePeriod,
  seasonPeriods,
  selectModel,
  seriesBefore,
  DAY_MS,
  QuantileLevel,
} from '@shardcast/forecasting';
import { ColdStartHours, coldStartProtocol } from './forecast/cold-start';
import { csvFiles, loadCsv } from './trace-files';
import { ProductionFigures, runProductionBenchmark } from './forecast-production';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: resolve(__dirname, '..', 'data', 'series') },
    workers: { type: 'string' },
    'test-origins': { type: 'string', default: '7' },
    origins: { type: 'string' },
    spacing: { type: 'string' },
    repeat: { type: 'string', default: '3' },
    'skip-production': { type: 'boolean', default: false },
    'production-series': { type: 'string', default: '10000' },
  },
});

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
const round = (x: number, d = 4): number => Number(x.toFixed(d));

interface SeriesCase {
  name: string;
  raw: DemandSeries;
  stepMs: number;
  horizon: number;
  gridStart: number;
  actual: Float64Array;
  observed: Uint8Array;
  testOrigins: number[];
  scale: number;
  selection?: ModelSelection;
}

async function main(): Promise<void> {
  const files = csvFiles(args.data!);
  if (files.length === 0) throw new Error(`no CSV files in ${args.data}`);
  const pool = new ForecastWorkerPool({ size: args.workers ? Number(args.workers) : undefined });
  const started = performance.now();
  const cases: SeriesCase[] = [];
  for (const file of files) {
    const raw = loadCsv(file);
    const prepared = prepareSeries(raw);
    const { stepMs, grid } = prepared;
    const horizon = stepMs < DAY_MS ? Math.round(DAY_MS / stepMs) : 7;
    const n = grid.values.length;
    const t = Math.max(1, Math.min(Number(args['test-origins']), Math.floor((0.3 * n) / horizon)));
    const testOrigins = Array.from({ length: t }, (_, k) => n - horizon * (t - k));
    if (testOrigins[0] < 2 * horizon) {
      console.log(`skip ${basename(file)}: ${n} values are too few for a backtest`);
      continue;
    }
    cases.push({
      name: basename(file, '.csv'),
      raw,
      stepMs,
      horizon,
      gridStart: grid.startMs,
      actual: grid.values,
      observed: grid.observed!,
      testOrigins,
      scale: naiveScale(grid.values.subarray(0, testOrigins[0]), scalePeriod(stepMs)),
    });
  }
  const now = new Date();

  // Scheduled job: selection + calibration on the data before the first test origin.
  const selStart = performance.now();
  await Promise.all(
    cases.map(async (c) => {
      const history = seriesBefore(c.raw, c.gridStart + c.testOrigins[0] * c.stepMs);
      c.selection = await selectModel(
        history,
        { horizon: c.horizon, origins: args.origins ? Number(args.origins) : undefined, originSpacing: args.spacing ? Math.round(Number(args.spacing) * c.horizon) : undefined, now },
        pool,
      );
    }),
  );
  const selectionSeconds = (performance.now() - selStart) / 1000;

  // Production path, timed: the selected model fitted, predicted and calibrated at every test origin.
  const jobs = cases.flatMap((c) => c.testOrigins.map((o) => ({ c, o, history: seriesBefore(c.raw, c.gridStart + o * c.stepMs) })));
  const statsBefore = JSON.parse(JSON.stringify(pool.stats));
  // Repeated to steady a sub-second measurement; the median pass counts.
  let produced: Awaited<ReturnType<typeof forecast>>[] = [];
  const passSeconds: number[] = [];
  for (let pass = 0; pass < Number(args.repeat); pass++) {
    const prodStart = performance.now();
    produced = await Promise.all(jobs.map((j) => forecast(j.history, j.c.selection!, pool, { horizon: j.c.horizon })));
    passSeconds.push((performance.now() - prodStart) / 1000);
  }
  const productionSeconds = [...passSeconds].sort((a, b) => a - b)[Math.floor(passSeconds.length / 2)];
  const passes = passSeconds.length;
  const prodStats = Object.entries(pool.stats).map(([k, v]) => {
    const b = statsBefore[k] ?? { tasks: 0, workerMs: 0 };
    const tasks = (v!.tasks - b.tasks) / passes;
    return `${k} ${tasks}× ${((v!.workerMs - b.workerMs) / passes / Math.max(1, tasks)).toFixed(0)} ms`;
  });

  // Reference methods at the same origins (not timed).
  const refNames: CandidateName[] = ['prophet', 'ets', 'snaive-daily', 'snaive-weekly', 'naive', 'median-4'];
  const refs = await Promise.all(
    jobs.map(async (j) => {
      const { grid, windowPoints } = prepareSeries(j.history, { stepMs: j.c.stepMs });
      const from = Math.max(0, grid.values.length - windowPoints);
      return forecastCandidates(
        refNames,
        { y: grid.values.subarray(from), startMs: grid.startMs + from * grid.stepMs, stepMs: grid.stepMs, horizon: j.c.horizon, periods: seasonPeriods(grid.stepMs) },
        pool,
      );
    }),
  );
  // Cold start (bench/forecast/cold-start.ts): the registration's prior, then 1, 6 and 24 h of data.
  const coldRows = await coldStartProtocol(
    cases.map((c) => ({ name: c.name, raw: c.raw, testSteps: c.actual.length - c.testOrigins[0] })),
    pool,
  );
  await pool.close();

  type Row = Record<string, number | string>;
  const rows: Row[] = [];
  for (const c of cases) {
    const absErr: Record<string, number[]> = { selected: [], selectedPoint: [], prophet: [], ets: [], 'snaive-daily': [], 'snaive-weekly': [], naive: [], 'median-4': [] };
    const failures: Record<string, number> = {};
    const actualAll: number[] = [];
    const q: Record<QuantileKey, number[]> = { p05: [], p10: [], p50: [], p90: [], p95: [], p99: [] };
    const fallbacks: string[] = [];
    jobs.forEach((j, i) => {
      if (j.c !== c) return;
      const f = produced[i];
      if (f.model !== c.selection!.model) fallbacks.push(f.model);
      for (let h = 0; h < c.horizon; h++) {
        const idx = j.o + h;
        if (idx >= c.actual.length || c.observed[idx] !== 1) continue;
        const a = c.actual[idx];
        actualAll.push(a);
        absErr.selected.push(Math.abs(a - f.quantiles.p50[h]));
        absErr.selectedPoint.push(Math.abs(a - f.point[h]));
        for (const k of Object.keys(q) as QuantileKey[]) q[k].push(f.quantiles[k][h]);
        for (const name of refNames) {
          const out = refs[i].get(name)!;
          if (out.ok) absErr[name].push(Math.abs(a - out.point[h]));
          else if (h === 0) failures[name] = (failures[name] ?? 0) + 1;
        }
      }
    });
    const m = (k: string): number => (failures[k] ? NaN : mean(absErr[k]) / c.scale);
    const sel = c.selection!;
    // Seasonal naive as picked on the training part; the last value where the step has no daily or weekly season.
    const baseline = sel.baseline;
    const pinball = mean((['p10', 'p50', 'p90', 'p99'] as QuantileKey[]).map((k) => pinballLoss(actualAll, q[k], QuantileLevel[k]))) / c.scale;
    rows.push({
      series: c.name,
      step: `${c.stepMs / 60000}m`,
      n: c.actual.length,
      H: c.horizon,
      T: c.testOrigins.length,
      selected: sel.model + (fallbacks.length ? `(fell back ${fallbacks.length}×)` : ''),
      bt_mase: sel.mase ?? NaN,
      gate: sel.forecastOnly ? 'forecastOnly' : 'ok',
      mase_selected: m('selected'),
      mase_selected_point: m('selectedPoint'),
      mase_median4: m('median-4'),
      mase_prophet: m('prophet'),
      mase_snaive: m(baseline),
      snaive_pick: baseline.replace('snaive-', ''),
      mase_snaive_hindsight: Math.min(...(baseline === 'naive' ? ['naive'] : ['snaive-daily', 'snaive-weekly']).map(m).filter(Number.isFinite)),
      mase_ets: m('ets'),
      pinball,
      pinball_p90: pinballLoss(actualAll, q.p90, QuantileLevel.p90) / c.scale,
      pinball_p99: pinballLoss(actualAll, q.p99, QuantileLevel.p99) / c.scale,
      coverage80: intervalCoverage(actualAll, q.p10, q.p90),
      coverage90: intervalCoverage(actualAll, q.p05, q.p95),
      coverage99: quantileCoverage(actualAll, q.p99),
    });
  }

  const cols = ['series', 'step', 'n', 'H', 'T', 'selected', 'bt_mase', 'gate', 'mase_selected', 'mase_selected_point', 'mase_median4', 'mase_prophet', 'mase_snaive', 'snaive_pick', 'mase_snaive_hindsight', 'mase_ets', 'pinball', 'pinball_p90', 'pinball_p99', 'coverage80', 'coverage90', 'coverage99'];
  const cell = (v: number | string | undefined): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : fmt(v)) : String(v ?? ''));
  const widths = cols.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k]).length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(widths[i])).join('  ');
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((k) => cell(r[k]))));
  const avg = (k: string): number => mean(rows.map((r) => r[k] as number));
  const overall: Row = { series: 'MEAN', step: '', n: '', H: '', T: '', selected: '', bt_mase: avg('bt_mase'), gate: '' };
  for (const k of cols.slice(8)) if (k !== 'snaive_pick') overall[k] = avg(k);
  overall.snaive_pick = '';
  console.log(line(cols.map((k) => cell(overall[k]))));
  console.log('\nselection backtest MASE per candidate (training part only; — = failed at some origin):');
  const names = [...new Set(cases.flatMap((c) => Object.keys(c.selection!.scores)))];
  const nameWidth = Math.max(...cases.map((c) => c.name.length));
  console.log(['series'.padEnd(nameWidth), ...names.map((k) => k.padStart(13))].join(' '));
  for (const c of cases) {
    const sc = c.selection!.scores as Record<string, number | null>;
    console.log([c.name.padEnd(nameWidth), ...names.map((k) => fmt(sc[k] ?? NaN).padStart(13))].join(' '));
  }
  console.log('\ncold start: WAPE of p50 on the 24 h after each forecast, by hours of history after registration (prior weight; Σ forecast / Σ actual):');
  console.log(['series'.padEnd(nameWidth), 'region'.padEnd(14), 'app'.padEnd(7), 'origins', ...ColdStartHours.map((h) => `${h} h`.padStart(24))].join(' '));
  for (const r of coldRows) {
    const cells = ColdStartHours.map((_, k) => `${fmt(r.wape[k])} (${fmt(r.priorWeight[k], 2)}; ${fmt(r.bias[k], 2)})`.padStart(24));
    console.log([r.series.padEnd(nameWidth), r.region.padEnd(14), r.appType.padEnd(7), String(r.origins).padStart(7), ...cells].join(' '));
  }
  const coldStartFigures = Object.fromEntries(ColdStartHours.map((h, k) => [`cold_wape_${h}h`, round(mean(coldRows.map((r) => r.wape[k])))]));
  const forecasts = jobs.length;
  console.log(`production worker time per fit: ${prodStats.join(', ')}`);
  console.log(
    `selection: ${cases.length} series in ${selectionSeconds.toFixed(1)} s; production path: ${forecasts} forecasts in ${productionSeconds.toFixed(2)} s (median of ${passes} passes: ${passSeconds.map((x) => x.toFixed(2)).join(', ')} s) ` +
      `on ${pool.size} workers (${pool.replaced} replaced); total ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const production: ProductionFigures | null = args['skip-production']
    ? null
    : await runProductionBenchmark({ data: args.data!, series: Number(args['production-series']), workers: args.workers ? Number(args.workers) : undefined });
  console.log(
    JSON.stringify({
      bench: 'forecast',
      series: cases.length,
      mase_selected: round(avg('mase_selected')),
      mase_selected_point: round(avg('mase_selected_point')),
      mase_prophet: round(avg('mase_prophet')),
      mase_snaive: round(avg('mase_snaive')),
      mase_snaive_hindsight: round(avg('mase_snaive_hindsight')),
      mase_ets: round(avg('mase_ets')),
      pinball: round(avg('pinball')),
      coverage80: round(avg('coverage80')),
      coverage90: round(avg('coverage90')),
      mase_median4: round(avg('mase_median4')),
      pinball_p90: round(avg('pinball_p90')),
      pinball_p99: round(avg('pinball_p99')),
      coverage99: round(avg('coverage99')),
      ...coldStartFigures,
      series_per_s: round(forecasts / productionSeconds, 2),
      forecasts,
      selection_s: round(selectionSeconds, 2),
      ...(production && { bytes_per_event: production.bytes_per_event, production_series_per_s: production.production_series_per_s }),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
