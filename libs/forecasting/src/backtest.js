"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.defaultSpacing = defaultSpacing;
exports.rollingOrigins = rollingOrigins;
exports.backtest = backtest;
const accuracy_1 = require("./accuracy");
const candidate_models_1 = require("./candidate-models");
const season_periods_1 = require("./season-periods");
const series_1 = require("./series");
/** One origin per day (or per horizon if shorter), so calibration sees every hour of the day equally; weekly for daily data. */
function defaultSpacing(stepMs, horizon) {
    const perDay = (0, season_periods_1.seasonPeriods)(stepMs).daily ?? 1;
    return Math.max(1, Math.min(horizon, perDay >= 2 ? perDay : 7));
}
/** Rolling-origin origins, latest last: each leaves a full horizon of known values after it. */
function rollingOrigins(length, horizon, count, spacing, minTraining) {
    const origins = [];
    for (let k = 0; k < count; k++) {
        const o = length - horizon - k * spacing;
        if (o < Math.max(1, minTraining))
            break;
        origins.unshift(o);
    }
    return origins;
}
/**
 * Rolling-origin backtest of several candidates on one series. All origins are fitted
 * concurrently (the runner queues them), base models shared by ensembles are fitted once per origin.
 */
async function backtest(series, candidates, options, runner) {
    const { horizon } = options;
    const periods = (0, season_periods_1.seasonPeriods)(series.stepMs);
    const period = (0, season_periods_1.scalePeriod)(series.stepMs);
    const origins = rollingOrigins(series.values.length, horizon, options.origins ?? 16, options.spacing ?? defaultSpacing(series.stepMs, horizon), options.minTrainingPoints ?? Math.max(2 * period, 24));
    const outcomes = await Promise.all(origins.map((o) => {
        const known = (0, series_1.tail)((0, series_1.head)(series, o), options.windowPoints);
        return (0, candidate_models_1.forecastCandidates)(candidates, { y: known.values, startMs: known.startMs, stepMs: series.stepMs, horizon, periods }, runner, options.resolution);
    }));
    const scale = (0, accuracy_1.naiveScale)(series.values, period);
    const result = new Map();
    for (const name of candidates) {
        const entry = { mase: Infinity, mae: Infinity, failures: 0, errors: [], residuals: [], points: [] };
        let sum = 0;
        let n = 0;
        outcomes.forEach((byName, i) => {
            const outcome = byName.get(name);
            if (!outcome.ok) {
                entry.failures++;
                entry.errors.push(outcome.error);
                return;
            }
            const o = origins[i];
            const r = new Float64Array(horizon);
            for (let h = 0; h < horizon; h++) {
                const seen = series.observed ? series.observed[o + h] === 1 : true;
                r[h] = seen ? series.values[o + h] - outcome.point[h] : NaN;
                if (seen) {
                    sum += Math.abs(r[h]);
                    n++;
                }
            }
            entry.residuals.push(r);
            entry.points.push(outcome.point);
        });
        if (entry.failures === 0 && n > 0) {
            entry.mae = sum / n;
            entry.mase = entry.mae / scale;
        }
        result.set(name, entry);
    }
    return { origins, scale, candidates: result };
}
//# sourceMappingURL=backtest.js.map