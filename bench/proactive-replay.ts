/**
 * Replays one real trace through shardcast's forecasting library and the allocator's `decide`
 * (libs/allocation's simulator) and through the reactive baseline, and compares them at matched
 * cost. Shared by `npm run simulate` (one trace, a plot) and `npm run bench:proactive` (every trace).
 *
 * Protocol (no look-ahead):
 * - The trace (requests per step, any sub-daily step) becomes demand at 1-minute resolution,
 *   requests per second constant within a step.
 * - The last `days` days (7, fewer for a short trace so ≥ 70 % stays history) are simulated; model
 *   selection runs once on the history before them (the forecaster's scheduled job); every
 *   `replanMinutes` the selected model forecasts from the data before that minute, the forecast
 *   becomes the service's own `demand.forecast.v1` payload (`toForecastPayload`) and goes to `decide`.
 * - A capacity unit serves the trace's 95th-percentile rate ÷ 20 (about 20 units at peak: fine
 *   enough that rounding to whole units does not decide the comparison).
 * - The first `replanMinutes` are warm-up, simulated by both policies and not scored.
 */
import { DemandForecast, forecastStepStartMs, INT32_MAX, QuantileLevel, QuantileLevels, QuantileProbability, Tier } from '@shardcast/contracts';
import { defaultProfile, DemandSeries, forecast, ForecastWorkerPool, ModelSelection, prepareSeries, requestCostOf, selectModel, seriesBefore, toForecastPayload, DAY_MS } from '@shardcast/forecasting';
import { AllocationPolicy, CapacityOutcome, comparePolicies, isShort, shortfallAnatomy, ShortfallAnatomy, DefaultAllocationPolicy, GateVerdict, LatencyMatrix, proactiveGate, ProactiveOptions, simulatedTraceOf, simulateReactive, SimulatedTrace } from '@shardcast/allocation';
import { parseRegionTable } from '@shardcast/geo';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

/** The measured inter-region matrix with the region table's great-circle fallback (data/latency/README.md). */
export function latencyMatrix(): LatencyMatrix {
  return new LatencyMatrix(JSON.parse(readFileSync(join(ROOT, 'data/latency/aws-ping-p50-1y.json'), 'utf8')), parseRegionTable(readFileSync(join(ROOT, 'data/regions/awsData.js'), 'utf8')));
}

const MINUTE_MS = 60_000;

export interface ReplayOptions {
  provisioningDelayMinutes: number;
  replanMinutes: number;
  days: number;
  latency: LatencyMatrix;
  pool: ForecastWorkerPool;
  /** The simulated domain's account tier: its quantile and headroom (TierPolicy). */
  tier?: Tier;
  /** `reactive` skips forecasting (and so the comparison). */
  policy?: 'proactive' | 'reactive' | 'both';
  onProgress?: (done: number, total: number) => void;
  /** Overrides of the allocator's policy (experiments; the default is the service's). */
  allocationPolicy?: Partial<AllocationPolicy>;
  /**
   * A folder where each trace's selection and forecasts are kept between runs (experiments on the
   * allocation policy: forecasts do not depend on it). Keyed by the trace, the protocol and the
   * forecasting and contracts sources, so a change to either forecasts afresh.
   */
  forecastCache?: string;
  /**
   * Days of history before the simulated ones on which the proactive gate (decision 0034) replays
   * the policy against the reactive sweep; where forecasts did not pay there, the simulated days
   * run `forecastOnly` (the reactive policy). 0: no gate.
   */
  gateDays?: number;
  /** Minutes between the gate replay's re-forecasts (default: `replanMinutes`, as the service re-plans). */
  gateReplanMinutes?: number;
  /**
   * A diagnostic, never a result (`--oracle`): each forecast's steps are set from the trace itself,
   * the future included. `exact`: every quantile is the step's actual demand (a perfect point
   * forecast, no spread); `recentred`: the forecast's own band scaled so its median is the actual
   * demand (as `exact` where the model's median is 0). The selection's accuracy test
   * (`forecastOnly`) judged the model and does not apply; the cost gate and the spend guard do.
   * `level`: each step's quantiles are the trace's mean demand over the `oracleWindowMinutes` centred
   * on it × the trace's own quantiles of (demand ÷ that mean): a forecast that knows each window's
   * level exactly and the noise within it only as a calibrated band (levelOracleOf).
   * What the allocator reaches with forecasts this good tells the forecasts' part of a gap from the
   * policy's.
   */
  oracle?: 'exact' | 'recentred' | 'level';
  /** `oracle: 'level'`: the minutes, centred on each step, whose mean demand the oracle knows (default DEFAULT_ORACLE_WINDOW_MINUTES). */
  oracleWindowMinutes?: number;
}

/** The `level` oracle's window when none is given: an hour. */
export const DEFAULT_ORACLE_WINDOW_MINUTES = 60;

export interface ReplayResult {
  name: string;
  stepMinutes: number;
  minutes: number;
  unitRps: number;
  selection: Pick<ModelSelection, 'model' | 'mase' | 'baselineMase' | 'forecastOnly'>;
  trace: SimulatedTrace;
  scoreFrom: number;
  proactive: (CapacityOutcome & { reasons: Record<string, number> }) | null;
  reactive70: CapacityOutcome;
  /** Each policy's minutes short by kind (`shortfallAnatomy`); proactive null as `proactive` is. */
  underByKind: { proactive: ShortfallAnatomy | null; reactive70: ShortfallAnatomy };
  /** The reactive policy's (cost, shortfall) at each target utilisation swept. */
  curve: Array<{ target: number; unitHours: number; underMinutes: number }>;
  reactiveUnderAtCost: number | null;
  reduction: number | null;
  costRatio: number | null;
  /** The gate's verdict on the days before (null: no gate, or too little history for its window). */
  gate: GateVerdict | null;
}

interface CachedForecasts {
  selection: ModelSelection;
  forecasts: Record<number, DemandForecast>;
}

function sourcesDigest(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) hash.update(path).update(readFileSync(path));
    }
  };
  walk(join(ROOT, 'libs/forecasting/src'));
  walk(join(ROOT, 'libs/contracts/src'));
  return hash.digest('hex');
}

export async function replayTrace(name: string, raw: DemandSeries, options: ReplayOptions): Promise<ReplayResult | null> {
  const { grid, stepMs } = prepareSeries(raw);
  if (stepMs >= DAY_MS || stepMs % MINUTE_MS !== 0) return null;
  const stepsPerDay = Math.round(DAY_MS / stepMs);
  const simSteps = Math.min(options.days * stepsPerDay, Math.floor(0.3 * grid.values.length));
  if (simSteps < stepsPerDay) return null;
  const simStartIndex = grid.values.length - simSteps;
  const simStartMs = grid.startMs + simStartIndex * stepMs;
  const trace = simulatedTraceOf(grid.values.subarray(simStartIndex), simStartMs, stepMs, options.provisioningDelayMinutes);
  const { demand, unitRps } = trace;
  const scoreFrom = options.replanMinutes;

  const profile = defaultProfile('webapp', options.tier ?? 'pro');
  const cacheFile = options.forecastCache
    ? join(options.forecastCache, `${name}-${createHash('sha256').update(JSON.stringify([Array.from(raw.timestamps), Array.from(raw.values), stepMs, simStartMs, options.replanMinutes, profile])).update(sourcesDigest()).digest('hex').slice(0, 16)}.json`)
    : null;
  const cached: CachedForecasts | null = cacheFile && existsSync(cacheFile) ? JSON.parse(readFileSync(cacheFile, 'utf8')) : null;
  const history = seriesBefore(raw, simStartMs);
  const selection = cached?.selection ?? (await selectModel(history, { now: new Date(simStartMs) }, options.pool));
  const forecasts: Record<number, DemandForecast> = cached?.forecasts ?? {};
  const requestCost = requestCostOf(profile);
  let computed = false; // a forecast the cache did not hold (the gate's, on a cache made without it)
  const forecastAt = async (minute: number): Promise<DemandForecast> => {
    if (forecasts[minute]) return forecasts[minute];
    computed = true;
    const at = simStartMs + minute * MINUTE_MS;
    const f = await forecast(seriesBefore(raw, at), selection, options.pool);
    return (forecasts[minute] = toForecastPayload({ domain: 'simulated.example', region: 'sim-1' }, f, selection, profile, new Date(at), 'scheduled'));
  };
  const level = options.oracle === 'level' ? levelOracleOf(grid.values, stepMs, options.oracleWindowMinutes ?? DEFAULT_ORACLE_WINDOW_MINUTES) : undefined;
  const forecastFor = options.oracle ? async (m: number) => oracleForecast(await forecastAt(m), { startMs: grid.startMs, stepMs, values: grid.values }, options.oracle!, level) : forecastAt;
  const common: Omit<ProactiveOptions, 'forecastAt'> = {
    replanMinutes: options.replanMinutes,
    scoreFrom,
    requestCost,
    latency: options.latency,
    tier: profile.tier,
    policy: { ...DefaultAllocationPolicy, ...options.allocationPolicy },
  };

  // The gate: the same replay on the days before, with forecasts from the data before each
  // re-plan there (minutes before the simulated start are negative), its own capacity unit.
  let gate: GateVerdict | null = null;
  const gateSteps = Math.round(((options.gateDays ?? 0) * DAY_MS) / stepMs);
  if (options.policy !== 'reactive' && gateSteps > 0 && simStartIndex - gateSteps >= stepsPerDay) {
    // As the forecaster runs it (FORECAST_GATE_DAYS): the same library calls on the window.
    const window = simulatedTraceOf(grid.values.subarray(simStartIndex - gateSteps, simStartIndex), simStartMs - gateSteps * stepMs, stepMs, options.provisioningDelayMinutes);
    gate = await proactiveGate(window, { ...common, replanMinutes: options.gateReplanMinutes ?? options.replanMinutes, forecastAt: (m) => forecastFor(m - window.demand.length) });
  }
  const gated = gate !== null && !gate.proactive;

  const comparison =
    options.policy === 'reactive'
      ? null
      : await comparePolicies(trace, {
          ...common,
          forecastAt: async (m) => {
            const f = await forecastFor(m);
            return gated ? { ...f, forecastOnly: true } : f;
          },
          onMinute: (m) => {
            if (m % 60 === 0) options.onProgress?.(m, demand.length);
          },
        });
  options.onProgress?.(demand.length, demand.length);
  if (cacheFile && computed && comparison) {
    mkdirSync(options.forecastCache!, { recursive: true });
    writeFileSync(cacheFile, JSON.stringify({ selection, forecasts } satisfies CachedForecasts));
  }
  // Reactive only (`simulate --policy reactive`): the sweep without a cost to compare at.
  const sweep = comparison ? null : [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9].map((target) => ({ target, ...simulateReactive(trace, { targetUtilisation: target, scoreFrom }) }));
  const curve = comparison?.curve ?? sweep!;
  const reactive70 = comparison?.reactive70 ?? sweep!.find((c) => c.target === 0.7)!;
  return {
    name,
    stepMinutes: stepMs / MINUTE_MS,
    minutes: demand.length,
    unitRps,
    selection: { model: selection.model, mase: selection.mase, baselineMase: selection.baselineMase, forecastOnly: selection.forecastOnly },
    trace,
    scoreFrom,
    proactive: comparison?.proactive ?? null,
    reactive70,
    curve: curve.map((c) => ({ target: c.target, unitHours: c.unitHours, underMinutes: c.underMinutes })),
    reactiveUnderAtCost: comparison?.reactiveUnderAtCost ?? null,
    reduction: comparison?.reduction ?? null,
    costRatio: comparison?.costRatio ?? null,
    gate,
    underByKind: {
      proactive: comparison ? shortfallAnatomy(trace, comparison.proactive.ready, { scoreFrom }) : null,
      reactive70: shortfallAnatomy(trace, reactive70.ready, { scoreFrom }),
    },
  };
}

/**
 * `ReplayOptions.oracle`: the forecast's steps set from the trace itself (steps past the trace keep
 * the forecast's): its actual demand (`exact`, `recentred`) or its level and band (`level`,
 * levelOracleOf). Counted in a unit 1,000 times finer than the forecast's: a spiky series' median
 * can be 2 or 3 of its counts, and rounding to them would make the oracle 20–50 % wrong.
 */
export function oracleForecast(f: DemandForecast, grid: { startMs: number; stepMs: number; values: ArrayLike<number> }, mode: 'exact' | 'recentred' | 'level', level?: LevelOracle): DemandForecast {
  if (mode === 'level' && !level) throw new Error('oracle: level needs levelOracleOf');
  const FINER = 1000;
  const unit = Number((f.unit / FINER).toPrecision(12));
  const stepMs = grid.stepMs;
  // A forecast off the trace's grid would leave the model's counts in place, or read the wrong steps, unseen: refuse it.
  if (f.stepSeconds * 1000 !== stepMs) throw new Error(`oracle: forecast steps of ${f.stepSeconds} s on a trace of ${stepMs / 1000} s steps`);
  const requests = Object.fromEntries(QuantileLevels.map((l) => [l, f.requests[l].map((c) => c * FINER)])) as DemandForecast['requests'];
  for (let i = 0; i < f.steps; i++) {
    const index = (forecastStepStartMs(f, i) - grid.startMs) / stepMs;
    if (index < 0 || index >= grid.values.length) continue;
    if (!Number.isInteger(index)) throw new Error(`oracle: forecast step ${forecastStepStartMs(f, i)} is not on the trace's grid`);
    const actual = grid.values[index] / unit;
    const median = f.requests.p50[i];
    // Rounded up: `exact` and `recentred` never say less than the step's demand.
    for (const l of QuantileLevels) {
      if (mode === 'level') requests[l][i] = Math.ceil((level!.level[index] * level!.band[l]) / unit);
      else requests[l][i] = Math.ceil(mode === 'exact' || median === 0 ? actual : (f.requests[l][i] * actual) / median);
    }
  }
  if (QuantileLevels.some((l) => requests[l].some((c) => c > INT32_MAX))) throw new Error('oracle: a count over the contract’s limit');
  // The selection's accuracy test judged the model, not the oracle; the cost gate and the spend guard still judge it.
  // Named `oracle`, not the model's: a seasonal naive model's forecasts are re-levelled by the allocator (decision 0039), the oracle's must be held as set.
  return { ...f, unit, requests, forecastOnly: false, model: { ...f.model, name: 'oracle' } };
}

/** What the `level` oracle knows of a trace: each step's centred mean, and the band of demand around it. */
export interface LevelOracle {
  /** Per step of the grid: the mean demand over the window centred on it (levelOracleOf). */
  level: Float64Array;
  /** Per quantile level: that quantile of demand ÷ level over the trace's steps whose level is above 0. */
  band: Record<QuantileLevel, number>;
}

/**
 * The `level` oracle (ReplayOptions.oracle): a forecaster that knows, for every step, the mean
 * demand of the `windowMinutes` centred on it, and of the noise within windows only its
 * distribution, the trace's own (future included, so the band is calibrated by construction).
 * A step partly inside the window counts for the part inside; at the trace's ends the window is
 * what the trace holds of it. A window no longer than a step is the step itself: `exact`. How the
 * reduction falls as the window widens says how fine in time a forecast must know demand.
 */
export function levelOracleOf(values: ArrayLike<number>, stepMs: number, windowMinutes: number): LevelOracle {
  if (!(windowMinutes >= 0)) throw new Error(`oracle: a window of ${windowMinutes} minutes`);
  const n = values.length;
  // Beyond the step itself, the window reaches `full` whole steps and a `part` of one more on each side.
  const beyond = Math.max(0, (windowMinutes * MINUTE_MS) / stepMs - 1) / 2;
  const full = Math.floor(beyond);
  const part = beyond - full;
  const level = new Float64Array(n);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) {
    // Summed afresh, not from running sums: a one-step window is then the step itself, exactly.
    let sum = 0;
    let weight = 0;
    for (let j = Math.max(0, i - full - 1); j <= Math.min(n - 1, i + full + 1); j++) {
      const w = Math.abs(j - i) <= full ? 1 : part;
      if (w === 0) continue; // not 0 × a neighbour: the step alone, whatever its neighbours hold
      sum += w * values[j];
      weight += w;
    }
    level[i] = sum / weight;
    if (level[i] > 0) ratios.push(values[i] / level[i]);
  }
  ratios.sort((a, b) => a - b);
  // The nearest rank at or above the probability: no interpolation, so a quantile is a ratio the trace had.
  const at = (p: number) => (ratios.length ? ratios[Math.min(ratios.length - 1, Math.max(0, Math.ceil(p * ratios.length) - 1))] : 0);
  const band = Object.fromEntries(QuantileLevels.map((l) => [l, at(QuantileProbability[l])])) as Record<QuantileLevel, number>;
  return { level, band };
}

/** An SVG of demand, shardcast's ready capacity and the reactive policy's (at 70 %), in requests per second, with each policy's minutes short marked under the axis. */
export function capacityPlotSvg(result: ReplayResult, width = 1200, height = 380): string {
  const { demand, unitRps } = result.trace;
  const policies: Array<{ label: string; colour: string; outcome: CapacityOutcome }> = [
    ...(result.proactive ? [{ label: 'shardcast (proactive)', colour: '#1f77b4', outcome: result.proactive }] : []),
    { label: 'reactive, 70 % target', colour: '#d62728', outcome: result.reactive70 },
  ];
  const series: Array<{ label: string; colour: string; values: ArrayLike<number>; scale: number }> = [
    { label: 'demand', colour: '#222222', values: demand, scale: 1 },
    ...policies.map((p) => ({ label: p.label, colour: p.colour, values: p.outcome.ready, scale: unitRps })),
  ];
  let max = 0;
  for (const s of series) for (let i = 0; i < s.values.length; i++) max = Math.max(max, s.values[i] * s.scale);
  const pad = 40;
  const strip = 8; // one row per policy under the axis: its minutes short
  const axisY = height - pad - strip * policies.length;
  const n = demand.length;
  const xOf = (i: number) => pad + (i / Math.max(1, n - 1)) * (width - 2 * pad);
  const x = (i: number) => xOf(i).toFixed(1);
  const y = (v: number) => (axisY - (v / (max || 1)) * (axisY - pad)).toFixed(1);
  const every = Math.max(1, Math.floor(n / 2000)); // at most ~2,000 points a line
  const lines = series.map((s) => {
    const points: string[] = [];
    for (let i = 0; i < n; i += every) points.push(`${x(i)},${y(s.values[i] * s.scale)}`);
    return `<polyline fill="none" stroke="${s.colour}" stroke-width="1" points="${points.join(' ')}"/>`;
  });
  // Minutes short, scored as the comparison scores them, as runs: every minute shows, however thin.
  const strips = policies.flatMap((p, row) => {
    const rects: string[] = [];
    for (let m = result.scoreFrom; m < n; m++) {
      if (!isShort(result.trace, p.outcome.ready, m)) continue;
      const start = m;
      while (m + 1 < n && isShort(result.trace, p.outcome.ready, m + 1)) m++;
      const x0 = xOf(start);
      const w = Math.max(1, xOf(m + 1) - x0);
      rects.push(`<rect x="${x0.toFixed(1)}" y="${axisY + 2 + row * strip}" width="${w.toFixed(1)}" height="${strip - 3}" fill="${p.colour}"/>`);
    }
    return rects;
  });
  const legend = series.map((s, i) => {
    const short = i === 0 ? '' : `: ${policies[i - 1].outcome.underMinutes} minutes short`;
    return `<text x="${pad + i * 380}" y="20" fill="${s.colour}" font-family="sans-serif" font-size="13">${s.label}${short}</text>`;
  });
  const esc = (t: string) => t.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${esc(result.name)}: demand and ready capacity (requests per second); minutes short under the axis</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<line x1="${pad}" y1="${axisY}" x2="${width - pad}" y2="${axisY}" stroke="#999"/>`,
    `<text x="${pad}" y="${height - 12}" font-family="sans-serif" font-size="12">${esc(new Date(result.trace.startMs).toISOString())} — ${(n / 1440).toFixed(1)} days; peak ${max.toFixed(1)} req/s; bars under the axis: minutes short, scored</text>`,
    ...legend,
    ...lines,
    ...strips,
    '</svg>',
  ].join('\n');
}

/** A one-line progress bar on stderr when it is a terminal (long traces take a while). */
export function progressBar(label: string): (done: number, total: number) => void {
  if (!process.stderr.isTTY) return () => undefined;
  return (done, total) => {
    const width = 30;
    const filled = Math.round((done / Math.max(1, total)) * width);
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round((100 * done) / Math.max(1, total))}%${done >= total ? '\n' : ''}`);
  };
}
