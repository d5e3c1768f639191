/**
 * Proactive allocation against reactive autoscaling, at matched cost, on real traces.
 *
 *   npm run bench:proactive [-- --data DIR] [--delay MIN] [--replan MIN] [--days N] [--out DIR] [--oracle exact|recentred|level] [--oracle-window MIN]
 *
 * Every sub-daily CSV in the folder (default: the repo's request series in data/series, without the
 * CPU gauge) is replayed by bench/proactive-replay.ts (its header states the protocol): shardcast's
 * forecasts through the allocator's `decide`, and the HPA-like baseline swept over target
 * utilisation. Per trace: shortfall minutes and cost of both, the reactive curve's shortfall at
 * shardcast's own cost, reduction = 1 − under(shardcast) / under(reactive at equal cost).
 * `--oracle exact|recentred|level` is a diagnostic, not a result: forecasts set from the trace's own future
 * (ReplayOptions.oracle), to tell the policy's part of a gap from the forecasts'; `level` knows only
 * the mean demand of the `--oracle-window` minutes centred on each step (default 60) and the noise
 * within as a band.
 * Ends with one JSON line: {"bench":"proactive","traces","reduction_mean","reduction_min","cost_ratio_max","turns_ratio_max","gated","clairvoyant_reduction_mean", …}: the last, the best any policy could reach (clairvoyantReduction), is the room the reduction target has; with an oracle, also "oracle" (and "oracle_window_minutes" for `level`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Tier } from '@shardcast/contracts';
import { clairvoyantReduction, exactCoverUnitHours } from '@shardcast/allocation';
import { ForecastWorkerPool } from '@shardcast/forecasting';
import { capacityPlotSvg, DEFAULT_ORACLE_WINDOW_MINUTES, latencyMatrix, progressBar, replayTrace, ReplayOptions, ReplayResult } from './proactive-replay';
import { csvFiles, loadCsv } from './trace-files';
import { ForecasterConfigSchema } from '../apps/forecaster/src';

// The gate as the forecaster runs it by default (decision 0034): the benchmark measures what is deployed.
const GATE_DAYS = ForecasterConfigSchema.shape.FORECAST_GATE_DAYS.parse(undefined);
const GATE_REPLAN_MINUTES = ForecasterConfigSchema.shape.FORECAST_GATE_REPLAN_MINUTES.parse(undefined);

const ROOT = resolve(__dirname, '..');
const DEFAULT_DATA = join(ROOT, 'data', 'series');
/** In the default folder only: a CPU gauge is not a request count. */
const NOT_REQUEST_SERIES = new Set(['ec2_cpu_utilization_825cc2.csv']);

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: DEFAULT_DATA },
    delay: { type: 'string', default: '10' },
    replan: { type: 'string', default: '15' },
    days: { type: 'string', default: '7' },
    out: { type: 'string' },
    workers: { type: 'string' },
    /** The simulated domain's tier (its quantile and headroom, TierPolicy). */
    tier: { type: 'string', default: 'pro' },
    /** JSON overrides of the allocator's policy, e.g. '{"scaleInDelayMs":300000}' (experiments). */
    'allocation-policy': { type: 'string' },
    /** Keep each trace's forecasts in this folder and reuse them (policy experiments: forecasts do not depend on the policy). */
    'forecast-cache': { type: 'string' },
    /** Days of history before the simulated ones the proactive gate replays (decision 0034; 0: off; default: the forecaster's FORECAST_GATE_DAYS). */
    'gate-days': { type: 'string', default: String(GATE_DAYS) },
    /** Minutes between the gate replay's re-forecasts (0: --replan; default: the forecaster's FORECAST_GATE_REPLAN_MINUTES). */
    'gate-replan': { type: 'string', default: String(GATE_REPLAN_MINUTES) },
    /** A diagnostic: forecasts set from the trace's own future (`exact`, `recentred` or `level`, ReplayOptions.oracle). */
    oracle: { type: 'string' },
    /** `--oracle level`: the minutes centred on each step whose mean demand the oracle knows (default DEFAULT_ORACLE_WINDOW_MINUTES). */
    'oracle-window': { type: 'string' },
  },
});

const fmt = (x: number | null, d = 2) => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(d));

async function main(): Promise<void> {
  if (args.oracle !== undefined && !['exact', 'recentred', 'level'].includes(args.oracle)) throw new Error(`--oracle: exact, recentred or level, not ${args.oracle}`);
  if (args['oracle-window'] !== undefined && args.oracle !== 'level') throw new Error('--oracle-window goes with --oracle level');
  const oracleWindow = args['oracle-window'] ?? String(DEFAULT_ORACLE_WINDOW_MINUTES);
  if (!/^\d+(\.\d+)?$/.test(oracleWindow)) throw new Error(`--oracle-window: minutes, not ${JSON.stringify(oracleWindow)}`);
  const oracleWindowMinutes = Number(oracleWindow);
  const dataDir = resolve(args.data!);
  const files = csvFiles(dataDir).filter((f) => dataDir !== DEFAULT_DATA || !NOT_REQUEST_SERIES.has(basename(f)));
  if (files.length === 0) throw new Error(`no CSV files in ${dataDir}`);
  const pool = new ForecastWorkerPool({ size: args.workers ? Number(args.workers) : undefined });
  const latency = latencyMatrix();
  const results: ReplayResult[] = [];
  const bounds: number[] = [];
  const started = performance.now();
  try {
    for (const file of files) {
      const name = basename(file, '.csv');
      const r = await replayTrace(name, loadCsv(file), {
        provisioningDelayMinutes: Number(args.delay),
        replanMinutes: Number(args.replan),
        days: Number(args.days),
        latency,
        pool,
        onProgress: progressBar(name),
        tier: args.tier as Tier,
        allocationPolicy: args['allocation-policy'] ? JSON.parse(args['allocation-policy']) : undefined,
        forecastCache: args['forecast-cache'],
        gateDays: Number(args['gate-days']),
        gateReplanMinutes: Number(args['gate-replan']) || undefined,
        oracle: args.oracle as ReplayOptions['oracle'],
        oracleWindowMinutes,
      });
      if (!r) {
        console.log(`skip ${name}: not a sub-daily series long enough to simulate a day`);
        continue;
      }
      results.push(r);
      if (args.out) {
        mkdirSync(args.out, { recursive: true });
        writeFileSync(join(args.out, `${name}.svg`), capacityPlotSvg(r));
      }
      const p = r.proactive!;
      // The oracle's window in this trace's steps: one step or less is `exact`.
      const levelNote = args.oracle === 'level' ? `; level oracle over ${oracleWindowMinutes} minutes = ${fmt(Math.max(1, oracleWindowMinutes / r.stepMinutes), 1)} steps${oracleWindowMinutes <= r.stepMinutes ? ' (one step: exact)' : ''}` : '';
      console.log(`\n${name}: ${(r.minutes / 1440).toFixed(1)} days at ${r.stepMinutes}-minute steps, unit ${fmt(r.unitRps, 3)} req/s, model ${r.selection.model} (MASE ${fmt(r.selection.mase, 3)}, seasonal naive ${fmt(r.selection.baselineMase, 3)}${r.selection.forecastOnly ? (args.oracle ? ', no better than seasonal naive: not applied to the oracle' : ', gated: reactive') : ''})${r.gate ? `; gate on the ${args['gate-days']} days before: ${r.gate.proactive ? 'proactive' : `reactive (${r.gate.reason})`}, reduction ${fmt(r.gate.reduction, 3)} @ cost ÷ reactive 70 % ${fmt(r.gate.costRatio, 3)}` : ''}${levelNote}`);
      console.log('| policy | under-provisioned minutes | unit-hours |');
      console.log('|---|---|---|');
      console.log(`| shardcast | ${p.underMinutes} | ${fmt(p.unitHours, 1)} |`);
      for (const c of r.curve) console.log(`| reactive ${Math.round(c.target * 100)} % | ${c.underMinutes} | ${fmt(c.unitHours, 1)} |`);
      console.log(`reactive at shardcast's cost: ${fmt(r.reactiveUnderAtCost, 1)} minutes short → reduction ${fmt(r.reduction, 3)}; cost ÷ reactive 70 %: ${fmt(r.costRatio, 3)}; shardcast minutes by reason: ${JSON.stringify(p.reasons)}`);
      const kinds = (a: { surprise: number; heldTooLow: number }) => `${a.surprise} surprises, ${a.heldTooLow} held too low`;
      console.log(`minutes short by kind: shardcast ${kinds(r.underByKind.proactive!)}; reactive 70 % ${kinds(r.underByKind.reactive70)}`);
      console.log(`capacity turns (a rise after a fall, or a fall after a rise): shardcast ${p.turns}, reactive 70 % ${r.reactive70.turns}`);
      const cover = exactCoverUnitHours(r.trace, r.scoreFrom);
      const bound = clairvoyantReduction(r.trace, r.curve, r.reactive70.unitHours, r.scoreFrom);
      if (bound !== null) bounds.push(bound);
      console.log(`references, not policies (foresight, orders one delay ahead): demand covered to the minute costs ${fmt(cover, 1)} unit-hours = ${fmt(cover / r.reactive70.unitHours, 3)} × reactive 70 %; the best reduction any policy could reach at no more than its cost (clairvoyant) ${fmt(bound, 3)}`);
    }
  } finally {
    await pool.close();
  }
  const boundsMean = bounds.length ? bounds.reduce((a, b) => a + b, 0) / bounds.length : null;
  const reductions = results.map((r) => r.reduction).filter((x): x is number => x !== null);
  const summary = {
    bench: 'proactive',
    traces: results.length,
    reduction_mean: reductions.length ? Number((reductions.reduce((a, b) => a + b, 0) / reductions.length).toFixed(4)) : null,
    reduction_min: reductions.length ? Number(Math.min(...reductions).toFixed(4)) : null,
    cost_ratio_max: results.length ? Number(Math.max(...results.map((r) => r.costRatio!)).toFixed(4)) : null,
    // Flapping: shardcast's turns ÷ the HPA's at 70 % (a trace where the HPA never turns counts its turns as 1).
    turns_ratio_max: results.length ? Number(Math.max(...results.map((r) => r.proactive!.turns / Math.max(1, r.reactive70.turns))).toFixed(3)) : null,
    gated: results.filter((r) => (r.selection.forecastOnly && !args.oracle) || (r.gate !== null && !r.gate.proactive)).length,
    unbracketed: results.length - reductions.length,
    // No policy can do better on these traces (clairvoyantReduction): the room a reduction target has.
    clairvoyant_reduction_mean: boundsMean === null ? null : Number(boundsMean.toFixed(4)),
    tier: args.tier,
    delay_minutes: Number(args.delay),
    replan_minutes: Number(args.replan),
    gate_days: Number(args['gate-days']),
    gate_replan_minutes: Number(args['gate-replan']) || Number(args.replan),
    ...(args.oracle ? { oracle: args.oracle } : {}),
    ...(args.oracle === 'level' ? { oracle_window_minutes: oracleWindowMinutes } : {}),
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  };
  console.log(`\ntargets: cost_ratio_max ≤ 1.0, reduction_min ≥ −0.05, reduction_mean ≥ 0.5`);
  console.log(JSON.stringify(summary));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
