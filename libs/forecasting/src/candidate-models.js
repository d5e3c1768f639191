"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.DefaultCandidates = exports.Ensembles = exports.BaseModels = void 0;
exports.isEnsemble = isEnsemble;
exports.membersOf = membersOf;
exports.forecastBaseModel = forecastBaseModel;
exports.medianOf = medianOf;
exports.forecastCandidates = forecastCandidates;
exports.describe = describe;
const model_task_1 = require("./model-task");
const series_1 = require("./series");
/** Single models. Seasonal naive is computed in-process; the others run as worker tasks (augurs, arima). */
exports.BaseModels = ['naive', 'snaive-daily', 'snaive-weekly', 'ets', 'mstl', 'arima', 'prophet'];
/**
 * Median ensembles count as one candidate each (DECISIONS.md). `median-4` is the combination that
 * beat every single model in the trial on these files; `median-5` adds ETS.
 */
exports.Ensembles = {
    'median-4': ['snaive-daily', 'snaive-weekly', 'mstl', 'prophet'],
    'median-5': ['snaive-daily', 'snaive-weekly', 'mstl', 'prophet', 'ets'],
};
/** Candidates tried by `selectModel` unless told otherwise (`naive` is the last-resort fallback only). */
exports.DefaultCandidates = [
    'snaive-daily',
    'snaive-weekly',
    'ets',
    'mstl',
    'arima',
    'prophet',
    'median-4',
    'median-5',
];
function isEnsemble(name) {
    return name in exports.Ensembles;
}
function membersOf(name) {
    return isEnsemble(name) ? exports.Ensembles[name] : [name];
}
/** Blocks of `stepMs` per block of `targetMs`, kept only if it divides the daily period (so seasons stay whole). */
function blockFactor(input, targetMs) {
    const k = Math.floor(targetMs / input.stepMs);
    if (k <= 1)
        return 1;
    const daily = input.periods.daily;
    return daily && daily % k === 0 ? k : 1;
}
function repeatSeason(y, period, horizon) {
    if (!(period >= 1) || y.length < period)
        throw new model_task_1.ModelFitError(`needs at least ${period} values, has ${y.length}`);
    const out = new Float64Array(horizon);
    for (let h = 0; h < horizon; h++)
        out[h] = y[y.length - period + (h % period)];
    return out;
}
function lastBlockMean(y, k) {
    let s = 0;
    for (let j = y.length - k; j < y.length; j++)
        s += y[j];
    return s / k;
}
async function mstl(input, runner, res) {
    const k = blockFactor(input, res.mstlStepMs ?? 30 * series_1.MINUTE_MS);
    const y = (0, series_1.coarsen)(input.y, k);
    const periods = [input.periods.daily, input.periods.weekly]
        .filter((p) => p !== undefined && p >= 2 && p % k === 0)
        .map((p) => p / k)
        .filter((p) => y.length >= 2 * p);
    if (periods.length === 0)
        throw new model_task_1.ModelFitError('mstl: fewer than two full seasons of history');
    const horizon = Math.ceil(input.horizon / k) + 1;
    const point = await runner.run({ kind: 'mstl', y, periods, horizon });
    return (0, series_1.refine)(point, k, input.horizon, lastBlockMean(input.y, k));
}
async function ets(input, runner, res) {
    // augurs' AutoETS has no seasonal models (spec 'AAA' → "no model found"; 'ZZZ' returns a
    // non-seasonal fit), so this is non-seasonal ETS on hourly means; seasonal ETS is `mstl`.
    const k = blockFactor(input, res.prophetStepMs ?? series_1.HOUR_MS);
    const y = (0, series_1.coarsen)(input.y, k);
    const horizon = Math.ceil(input.horizon / k) + 1;
    const point = await runner.run({ kind: 'ets', y, seasonLength: 1, spec: 'ZZN', horizon });
    return (0, series_1.refine)(point, k, input.horizon, lastBlockMean(input.y, k));
}
async function arima(input, runner, res) {
    // ARIMA(1,0,1) on the seasonally differenced series, i.e. SARIMA(1,0,1)(0,1,0)[m], fitted by
    // conditional sum of squares: the `arima` package's seasonal fits are unstable on long seasons
    // (DECISIONS.md), its exact-ML fits gave explosive AR terms on Twitter windows, its auto search
    // took 0.75 s on 4k points, and augurs' MSTL only takes an ETS trend model.
    const k = blockFactor(input, res.mstlStepMs ?? 30 * series_1.MINUTE_MS);
    const y = (0, series_1.coarsen)(input.y, k);
    const lag = input.periods.daily && input.periods.daily >= 2 ? input.periods.daily / k : (input.periods.weekly ?? 0) / k;
    if (!(lag >= 1) || !Number.isInteger(lag) || y.length < 3 * lag + 10)
        throw new model_task_1.ModelFitError('arima: too little history');
    const diff = new Float64Array(y.length - lag);
    for (let i = lag; i < y.length; i++)
        diff[i - lag] = y[i] - y[i - lag];
    const horizon = Math.ceil(input.horizon / k) + 1;
    const d = await runner.run({ kind: 'arima', y: diff, p: 1, d: 0, q: 1, method: 1, horizon });
    const out = new Float64Array(horizon);
    for (let h = 0; h < horizon; h++)
        out[h] = (h < lag ? y[y.length - lag + h] : out[h - lag]) + d[h];
    let range = 0;
    for (const v of y)
        range = Math.max(range, Math.abs(v));
    // The package does not enforce stationarity; an explosive AR estimate shows up here.
    if (out.some((v) => !Number.isFinite(v) || Math.abs(v) > 10 * range + 1))
        throw new model_task_1.ModelFitError('arima: forecast diverged');
    return (0, series_1.refine)(out, k, input.horizon, lastBlockMean(input.y, k));
}
async function prophet(input, runner, res) {
    const k = blockFactor(input, res.prophetStepMs ?? series_1.HOUR_MS);
    const y = (0, series_1.coarsen)(input.y, k);
    if (y.length < 3)
        throw new model_task_1.ModelFitError('prophet: fewer than 3 values');
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
        daily: blockMs < series_1.DAY_MS && spanMs >= 2 * series_1.DAY_MS,
        weekly: blockMs <= series_1.DAY_MS && spanMs >= 2 * series_1.WEEK_MS,
        yearly: spanMs >= 2 * 365 * series_1.DAY_MS,
    });
    return (0, series_1.refine)(point, k, input.horizon, lastBlockMean(input.y, k));
}
/** Point forecast of one single model. Rejects with `ModelFitError` when the model cannot be used. */
async function forecastBaseModel(name, input, runner, res = {}) {
    if (input.y.length === 0)
        throw new model_task_1.ModelFitError(`${name}: empty series`);
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
function medianOf(forecasts, horizon) {
    if (forecasts.length < 2)
        throw new model_task_1.ModelFitError('ensemble: fewer than two members succeeded');
    const out = new Float64Array(horizon);
    const column = new Float64Array(forecasts.length);
    for (let h = 0; h < horizon; h++) {
        for (let m = 0; m < forecasts.length; m++)
            column[m] = forecasts[m][h];
        column.sort();
        const mid = column.length >> 1;
        out[h] = column.length % 2 ? column[mid] : (column[mid - 1] + column[mid]) / 2;
    }
    return out;
}
/**
 * Point forecasts of several candidates from one origin. Each base model is fitted once, in
 * parallel, and shared by the ensembles that contain it. Failures are returned, never thrown.
 */
async function forecastCandidates(names, input, runner, res = {}) {
    const base = [...new Set(names.flatMap((n) => membersOf(n)))];
    const settled = await Promise.allSettled(base.map((b) => forecastBaseModel(b, input, runner, res)));
    const baseOutcome = new Map();
    base.forEach((b, i) => {
        const s = settled[i];
        baseOutcome.set(b, s.status === 'fulfilled' ? { ok: true, point: s.value } : { ok: false, error: describe(s.reason) });
    });
    const out = new Map();
    for (const name of names) {
        if (!isEnsemble(name)) {
            out.set(name, baseOutcome.get(name));
            continue;
        }
        const members = exports.Ensembles[name].map((m) => baseOutcome.get(m)).filter((o) => o.ok);
        try {
            out.set(name, { ok: true, point: medianOf(members.map((m) => m.point), input.horizon) });
        }
        catch (err) {
            out.set(name, { ok: false, error: describe(err) });
        }
    }
    return out;
}
/** augurs throws strings, wasm traps throw RuntimeError: make every failure a readable message. */
function describe(err) {
    return err instanceof Error ? err.message : String(err);
}
//# sourceMappingURL=candidate-models.js.map