"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.seasonPeriods = seasonPeriods;
exports.scalePeriod = scalePeriod;
const series_1 = require("./series");
function seasonPeriods(stepMs) {
    const perDay = series_1.DAY_MS / stepMs;
    if (perDay < 1)
        return {};
    const daily = Math.round(perDay);
    return { daily, weekly: 7 * daily };
}
/**
 * The period used to scale MASE and pick the default naive forecast: daily, or weekly for daily data
 * (DECISIONS.md).
 */
function scalePeriod(stepMs) {
    const { daily, weekly } = seasonPeriods(stepMs);
    if (daily && daily >= 2)
        return daily;
    return weekly ?? 1;
}
//# sourceMappingURL=season-periods.js.map