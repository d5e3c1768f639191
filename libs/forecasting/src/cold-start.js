"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.ColdStartPrior = void 0;
exports.coldStartForecast = coldStartForecast;
const conformal_calibration_1 = require("./conformal-calibration");
const series_1 = require("./series");
/**
 * Typical requests per second by tier, and the shape of the day by app type (peak hour UTC and the
 * day's swing as a share of the mean). A prior to start from, replaced by the series' own model once
 * it has enough history for a backtest.
 */
exports.ColdStartPrior = {
    meanRequestsPerSecond: { free: 0.5, pro: 5, enterprise: 50 },
    appTypeFactor: { static: 2, api: 1, ssr: 0.5, streaming: 0.2, websocket: 0.1 },
    diurnal: {
        static: { peakHourUtc: 18, swing: 0.5 },
        api: { peakHourUtc: 15, swing: 0.6 },
        ssr: { peakHourUtc: 18, swing: 0.5 },
        streaming: { peakHourUtc: 20, swing: 0.8 },
        websocket: { peakHourUtc: 16, swing: 0.4 },
    },
};
/**
 * Forecast for a domain without enough history: a daily cosine around a level from its tier and
 * app type, with wide relative intervals, `confidence: 'low'` and `forecastOnly`.
 */
function coldStartForecast(input) {
    const { appType, tier, startMs, stepMs, horizon } = input;
    const priorPerStep = exports.ColdStartPrior.meanRequestsPerSecond[tier] * exports.ColdStartPrior.appTypeFactor[appType] * (stepMs / 1000);
    const observed = (input.history?.values ?? []).filter((v) => Number.isFinite(v) && v >= 0);
    // A day of observed steps counts as much as the prior.
    const weight = observed.length / (observed.length + Math.max(1, series_1.DAY_MS / stepMs));
    const observedMean = observed.length > 0 ? observed.reduce((a, b) => a + b, 0) / observed.length : 0;
    const level = priorPerStep * (1 - weight) + observedMean * weight;
    const { peakHourUtc, swing } = exports.ColdStartPrior.diurnal[appType];
    const point = Float64Array.from({ length: horizon }, (_, h) => {
        const hourOfDay = (((startMs + h * stepMs) % series_1.DAY_MS) + series_1.DAY_MS) % series_1.DAY_MS / series_1.HOUR_MS;
        return level * (1 + swing * Math.cos((2 * Math.PI * (hourOfDay - peakHourUtc)) / 24));
    });
    return {
        startMs,
        stepMs,
        horizon,
        quantiles: (0, conformal_calibration_1.applyCalibration)(point, conformal_calibration_1.WideRelativeCalibration),
        point,
        model: 'cold-start',
        selectedModel: 'cold-start',
        fallbackErrors: [],
        mase: null,
        selectedAt: null,
        confidence: 'low',
        forecastOnly: true,
    };
}
//# sourceMappingURL=cold-start.js.map