"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.prepareSeries = prepareSeries;
exports.selectModel = selectModel;
const backtest_1 = require("./backtest");
const candidate_models_1 = require("./candidate-models");
const conformal_calibration_1 = require("./conformal-calibration");
const season_periods_1 = require("./season-periods");
const series_1 = require("./series");
/** Regularizes and gap-fills a raw series the way both the selection job and the production path do. */
function prepareSeries(series, options = {}) {
    const nativeStepMs = (0, series_1.inferStepMs)(series.timestamps);
    const stepMs = options.stepMs ?? Math.max(nativeStepMs, 5 * series_1.MINUTE_MS);
    const grid = (0, series_1.regularize)(series, stepMs, {
        aggregation: options.aggregation,
        nativeStepMs,
        seasonPeriod: (0, season_periods_1.seasonPeriods)(stepMs).daily,
    });
    const horizon = options.horizon ?? Math.max(1, Math.round((48 * series_1.HOUR_MS) / stepMs));
    const windowPoints = Math.max(options.minTrainingPoints ?? 112, Math.round((options.trainingWindowMs ?? 28 * series_1.DAY_MS) / stepMs));
    return { grid, stepMs, horizon, windowPoints };
}
/**
 * Scheduled job: picks the candidate with the lowest rolling-origin MASE and calibrates its
 * intervals on its own backtest residuals. Uses only the history given (no look-ahead).
 * A series too short to backtest gets seasonal naive (or the last value) with wide intervals and
 * `confidence: 'low'`.
 */
async function selectModel(series, options, runner) {
    const { grid, stepMs, horizon, windowPoints } = prepareSeries(series, options);
    const candidates = options.candidates ?? candidate_models_1.DefaultCandidates;
    const result = await (0, backtest_1.backtest)(grid, [...new Set([...candidates, 'snaive-daily', 'snaive-weekly'])], { horizon, origins: options.origins, spacing: options.originSpacing, windowPoints, resolution: options.resolution }, runner);
    const selectedAt = options.now.toISOString();
    const scores = {};
    for (const [name, r] of result.candidates)
        scores[name] = Number.isFinite(r.mase) ? r.mase : null;
    const ranked = [...result.candidates.entries()]
        .filter(([name, r]) => candidates.includes(name) && Number.isFinite(r.mase))
        .sort((a, b) => a[1].mase - b[1].mase);
    const naives = ['snaive-daily', 'snaive-weekly']
        .map((n) => [n, result.candidates.get(n).mase])
        .filter(([, m]) => Number.isFinite(m))
        .sort((a, b) => a[1] - b[1]);
    if (ranked.length === 0) {
        const periods = (0, season_periods_1.seasonPeriods)(stepMs);
        const model = periods.daily && periods.daily >= 2 && grid.values.length >= periods.daily ? 'snaive-daily' : 'naive';
        return {
            model,
            mase: null,
            baseline: model,
            baselineMase: null,
            forecastOnly: true,
            confidence: 'low',
            selectedAt,
            stepMs,
            horizon,
            fallbacks: [],
            calibrations: { [model]: conformal_calibration_1.WideRelativeCalibration },
            scores,
            origins: result.origins.length,
        };
    }
    const [model, best] = ranked[0];
    const baseline = naives[0]?.[0] ?? 'naive';
    const baselineMase = naives[0]?.[1] ?? null;
    const calibrations = {};
    for (const [name, r] of ranked)
        calibrations[name] = (0, conformal_calibration_1.calibrate)(r.residuals, { points: r.points });
    return {
        model,
        mase: best.mase,
        baseline,
        baselineMase,
        // MASE > 1: out of sample worse than seasonal naive is in sample (the scale's own yardstick).
        forecastOnly: best.mase > 1 || (baselineMase !== null && best.mase > baselineMase),
        confidence: result.origins.length >= 3 ? 'high' : 'low',
        selectedAt,
        stepMs,
        horizon,
        fallbacks: ranked.slice(1).map(([name]) => name),
        calibrations,
        scores,
        origins: result.origins.length,
    };
}
//# sourceMappingURL=select-model.js.map