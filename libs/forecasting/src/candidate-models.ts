import { ModelFitError, ModelRunner } from './model-task';
import { SeasonPeriods } from './season-periods';
import { coarsen, HOUR_MS, MINUTE_MS, refine, WEEK_MS, DAY_MS } from './series';

/** Single models. Seasonal naive is computed in-process; the others run as worker tasks (augurs, arima). */
export const BaseModels = ['naive', 'snaive-daily', 'snaive-weekly', 'ets', 'mstl', 'arima', 'prophet'] as const;
export type BaseModelName = (typeof BaseModels)[number];

/**
 * Median ensembles count as one candidate each (docs/decisions/0006-forecast-selection-and-calibration.md). `median-4` is the combination that
 * beat every single model in the trial on these files; `median-5` adds ETS.
 */
export const Ensembles = {
  'median-4': ['snaive-daily', 'snaive-weekly', 'mstl', 'prophet'],
  'median-5': ['snaive-daily', 'snaive-weekly', 'mstl', 'prophet', 'ets'],
} as const satisfies Record<string, readonly BaseModelName[]>;
export type EnsembleName = keyof typeof Ensembles;

export type CandidateName = BaseModelName | EnsembleName;

/** Candidates tried by `selectModel` unless told otherwise (`naive` is the last-resort fallback only). */
export const DefaultCandidates: readonly CandidateName[] = [
  'snaive-daily',
  'snaive-weekly',
  'ets',
  'mstl',
  'arima',
  'prophet',
  'median-4',
  'median-5',
];

/** What a model sees: the known part of the series (regular, gap-free, bounded) and what to predict. */
export interface ModelInput {
  y: Float64Array;
  startMs: number;
  stepMs: number;
  horizon: number;
  periods: SeasonPeriods;
}

export interface ModelResolution {
  /** MSTL and ARIMA fit on means over blocks of this length when the step is finer (default 30 min). */
  mstlStepMs?: number;
  /** Prophet and ETS fit on hourly means when the step is finer (docs/decisions/0006-forecast-selection-and-calibration.md: bounded training windows). */
  prophetStepMs?: number;
}

export function isEnsemble(name: CandidateName): name is EnsembleName {
  return name in Ensembles;
}

export function membersOf(name: CandidateName): readonly BaseModelName[] {
  return isEnsemble(name) ? Ensembles[name] : [name];
}

/** Blocks of `stepMs` per block of `targetMs`, kept only if it divides the daily period (so seasons stay whole). */
function blockFactor(input: ModelInput, targetMs: number): number {
  const k = Math.floor(targetMs / input.stepMs);
  if (k <= 1) return 1;
  const daily = input.periods.daily;
  return daily && daily % k === 0 ? k : 1;
}

function repeatSeason(y: Float64Array, period: number, horizon: number): Float64Array {
  if (!(period >= 1) || y.length < period) throw new ModelFitError(`needs at least ${period} values, has ${y.length}`);
  const out = new Float64Array(horizon);
  for (let h = 0; h < horizon; h++) out[h] = y[y.length - period + (h % period)];
  return out;
}

function lastBlockMean(y: Float64Array, k: number): number {
  let s = 0;
  for (let j = y.length - k; j < y.length; j++) s += y[j];
  return s / k;
}

async function mstl(input: ModelInput, runner: ModelRunner, res: ModelResolution): Promise<Float64Array> {
  const k = blockFactor(input, res.mstlStepMs ?? 30 * MINUTE_MS);
  const y = coarsen(input.y, k);
  const periods = [input.periods.daily, input.periods.weekly]
    .filter((p): p is number => p !== undefined && p >= 2 && p % k === 0)
    .map((p) => p / k)
    .filter((p) => y.length >= 2 * p);
  if (periods.length === 0) throw new ModelFitError('mstl: fewer than two full seasons of history');
  const horizon = Math.ceil(input.horizon / k) + 1;
  const point = await runner.run({ kind: 'mstl', y, periods, horizon });
  return refine(point, k, input.horizon, lastBlockMean(input.y, k));
}

async function ets(input: ModelInput, runner: ModelRunner, res: ModelResolution): Promise<Float64Array> {
  // augurs' AutoETS has no seasonal models (spec 'AAA' → "no model found"; 'ZZZ' returns a
  // non-seasonal fit), so this is non-seasonal ETS on hourly means; seasonal ETS is `mstl`.
  const k = blockFactor(input, res.prophetStepMs ?? HOUR_MS);
  const y = coarsen(input.y, k);
  const horizon = Math.ceil(input.horizon / k) + 1;
  const point = await runner.run({ kind: 'ets', y, seasonLength: 1, spec: 'ZZN', horizon });
  return refine(point, k, input.horizon, lastBlockMean(input.y, k));
}

async function arima(input: ModelInput, runner: ModelRunner, res: ModelResolution): Promise<Float64Array> {
  // ARIMA(1,0,1) on the seasonally differenced series, i.e. SARIMA(1,0,1)(0,1,0)[m], fitted by
  // conditional sum of squares: the `arima` package's seasonal fits are unstable on long seasons
  // (docs/decisions/0006-forecast-selection-and-calibration.md), its exact-ML fits gave explosive AR terms on Twitter windows, its auto search
  // took 0.75 s on 4k points, and augurs' MSTL only takes an ETS trend model.
  const k = blockFactor(input, res.mstlStepMs ?? 30 * MINUTE_MS);
  const y = coarsen(input.y, k);
  const lag = input.periods.daily && input.periods.daily >= 2 ? input.periods.daily / k : (input.periods.weekly ?? 0) / k;
  if (!(lag >= 1) || !Number.isInteger(lag) || y.length < 3 * lag + 10) throw new ModelFitError('arima: too little history');
  const diff = new Float64Array(y.length - lag);
  for (let i = lag; i < y.length; i++) diff[i - lag] = y[i] - y[i - lag];
  const horizon = Math.ceil(input.horizon / k) + 1;
  const d = await runner.run({ kind: 'arima', y: diff, p: 1, d: 0, q: 1, method: 1, horizon });
  const out = new Float64Array(horizon);
  for (let h = 0; h < horizon; h++) out[h] = (h < lag ? y[y.length - lag + h] : out[h - lag]) + d[h];
  let range = 0;
  for (const v of y) range = Math.max(range, Math.abs(v));
  // The package does not enforce stationarity; an explosive AR estimate shows up here.
  if (out.some((v) => !Number.isFinite(v) || Math.abs(v) > 10 * range + 1)) throw new ModelFitError('arima: forecast diverged');
  return refine(out, k, input.horizon, lastBlockMean(input.y, k));
}

async function prophet(input: ModelInput, runner: ModelRunner, res: ModelResolution): Promise<Float64Array> {
  const k = blockFactor(input, res.prophetStepMs ?? HOUR_MS);
  const y = coarsen(input.y, k);
  if (y.length < 3) throw new ModelFitError('prophet: fewer than 3 values');
  const blockMs = input.stepMs * k;
  const first = input.startMs + (input.y.length - y.length * k) * input.stepMs;
  const ds = Float64Array.from(y, (_, i) => (first + i * blockMs) / 1000);
  const horizon = Math.ceil(input.horizon / k) + 1;
  const futureDs = Float64Array.from({ length: horizon }, (_, i) => (first + (y.length + i) * blockMs) / 1000);
  const spanMs = y.length * blockMs;
  const point = await runner.run({
    kind: 'prophet',
    y,
    ds,
    futureDs,
    horizon,
    daily: blockMs < DAY_MS && spanMs >= 2 * DAY_MS,
    weekly: blockMs <= DAY_MS && spanMs >= 2 * WEEK_MS,
    yearly: spanMs >= 2 * 365 * DAY_MS,
  });
  return refine(point, k, input.horizon, lastBlockMean(input.y, k));
}

/** Point forecast of one single model. Rejects with `ModelFitError` when the model cannot be used. */
export async function forecastBaseModel(
  name: BaseModelName,
  input: ModelInput,
  runner: ModelRunner,
  res: ModelResolution = {},
): Promise<Float64Array> {
  if (input.y.length === 0) throw new ModelFitError(`${name}: empty series`);
  switch (name) {
    case 'naive':
      return repeatSeason(input.y, 1, input.horizon);
    case 'snaive-daily':
      return repeatSeason(input.y, input.periods.daily ?? NaN, input.horizon);
    case 'snaive-weekly':
      return repeatSeason(input.y, input.periods.weekly ?? NaN, input.horizon);
    case 'mstl':
      return mstl(input, runner, res);
    case 'ets':
      return ets(input, runner, res);
    case 'arima':
      return arima(input, runner, res);
    case 'prophet':
      return prophet(input, runner, res);
  }
}

/** Per-step median of the members that succeeded (at least two). */
export function medianOf(forecasts: readonly Float64Array[], horizon: number): Float64Array {
  if (forecasts.length < 2) throw new ModelFitError('ensemble: fewer than two members succeeded');
  const out = new Float64Array(horizon);
  const column = new Float64Array(forecasts.length);
  for (let h = 0; h < horizon; h++) {
    for (let m = 0; m < forecasts.length; m++) column[m] = forecasts[m][h];
    column.sort();
    const mid = column.length >> 1;
    out[h] = column.length % 2 ? column[mid] : (column[mid - 1] + column[mid]) / 2;
  }
  return out;
}

export type CandidateOutcome = { ok: true; point: Float64Array } | { ok: false; error: string };

/**
 * Point forecasts of several candidates from one origin. Each base model is fitted once, in
 * parallel, and shared by the ensembles that contain it. Failures are returned, never thrown.
 */
export async function forecastCandidates(
  names: readonly CandidateName[],
  input: ModelInput,
  runner: ModelRunner,
  res: ModelResolution = {},
): Promise<Map<CandidateName, CandidateOutcome>> {
  const base = [...new Set(names.flatMap((n) => membersOf(n)))];
  const settled = await Promise.allSettled(base.map((b) => forecastBaseModel(b, input, runner, res)));
  const baseOutcome = new Map<BaseModelName, CandidateOutcome>();
  base.forEach((b, i) => {
    const s = settled[i];
    baseOutcome.set(b, s.status === 'fulfilled' ? { ok: true, point: s.value } : { ok: false, error: describe(s.reason) });
  });
  const out = new Map<CandidateName, CandidateOutcome>();
  for (const name of names) {
    if (!isEnsemble(name)) {
      out.set(name, baseOutcome.get(name)!);
      continue;
    }
    const members = Ensembles[name].map((m) => baseOutcome.get(m)!).filter((o): o is { ok: true; point: Float64Array } => o.ok);
    try {
      out.set(name, { ok: true, point: medianOf(members.map((m) => m.point), input.horizon) });
    } catch (err) {
      out.set(name, { ok: false, error: describe(err) });
    }
  }
  return out;
}

/** augurs throws strings, wasm traps throw RuntimeError: make every failure a readable message. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
