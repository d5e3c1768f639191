"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.forecast = forecast;
const candidate_models_1 = require("./candidate-models");
const cold_start_1 = require("./cold-start");
const conformal_calibration_1 = require("./conformal-calibration");
const season_periods_1 = require("./season-periods");
const select_model_1 = require("./select-model");
const series_1 = require("./series");
/**
 * Production path: fits the selected model on the bounded recent window, predicts the horizon and
 * applies the selection's conformal calibration. On failure it falls back along the selection's
 * ranking, then to seasonal naive and the last value, which cannot fail on a non-empty series.
 */
async function forecast(series, selection, runner, options = {}) {
    const { grid, stepMs, windowPoints } = (0, select_model_1.prepareSeries)(series, { ...options, stepMs: selection.stepMs });
    const horizon = options.horizon ?? selection.horizon;
    const startMs = grid.values.length > 0 ? grid.startMs + grid.values.length * stepMs : (options.coldStart?.startMs ?? NaN);
    if (options.coldStart && (selection.mase === null || grid.values.length === 0) && Number.isFinite(startMs)) {
        return (0, cold_start_1.coldStartForecast)({ ...options.coldStart, startMs, stepMs, horizon, history: series });
    }
    const known = (0, series_1.tail)(grid, windowPoints);
    const chain = [...new Set([selection.model, ...selection.fallbacks, 'snaive-daily', 'naive'])];
    const errors = [];
    const input = { y: known.values, startMs: known.startMs, stepMs, horizon, periods: (0, season_periods_1.seasonPeriods)(stepMs) };
    for (const name of chain) {
        const outcome = (await (0, candidate_models_1.forecastCandidates)([name], input, runner, options.resolution)).get(name);
        if (!outcome.ok) {
            errors.push(`${name}: ${outcome.error}`);
            continue;
        }
        const own = selection.calibrations[name];
        const calibration = own ?? selection.calibrations[selection.model] ?? conformal_calibration_1.WideRelativeCalibration;
        return {
            startMs,
            stepMs,
            horizon,
            quantiles: (0, conformal_calibration_1.applyCalibration)(outcome.point, calibration),
            point: outcome.point,
            model: name,
            selectedModel: selection.model,
            fallbackErrors: errors,
            mase: selection.mase,
            selectedAt: selection.selectedAt,
            confidence: own && errors.length === 0 ? selection.confidence : 'low',
            forecastOnly: selection.forecastOnly || errors.length > 0,
        };
    }
    throw new Error(`FORECAST_NO_HISTORY: no model could forecast (${errors.map(candidate_models_1.describe).join('; ')})`);
}
//# sourceMappingURL=forecast.js.map