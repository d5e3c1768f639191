"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.WEEK_MS = exports.DAY_MS = exports.HOUR_MS = exports.MINUTE_MS = void 0;
exports.inferStepMs = inferStepMs;
exports.regularize = regularize;
exports.fillGaps = fillGaps;
exports.tail = tail;
exports.head = head;
exports.coarsen = coarsen;
exports.refine = refine;
exports.MINUTE_MS = 60_000;
exports.HOUR_MS = 3_600_000;
exports.DAY_MS = 86_400_000;
exports.WEEK_MS = 7 * exports.DAY_MS;
/** The series' native step: the median gap between consecutive distinct timestamps. */
function inferStepMs(timestamps) {
    const sorted = [...timestamps].filter(Number.isFinite).sort((a, b) => a - b);
    const gaps = [];
    for (let i = 1; i < sorted.length; i++)
        if (sorted[i] > sorted[i - 1])
            gaps.push(sorted[i] - sorted[i - 1]);
    if (gaps.length === 0)
        return 5 * exports.MINUTE_MS;
    gaps.sort((a, b) => a - b);
    return gaps[Math.floor(gaps.length / 2)];
}
/**
 * Resamples to a regular grid of `stepMs` anchored at the first timestamp (so series stamped at
 * :53 keep their phase) and fills gaps, because MSTL and Prophet reject NaN.
 *
 * Each grid value is the mean of the raw values in the step, times the number of native steps per
 * grid step for `sum` series (so a partly observed step is scaled up rather than under-counted).
 * Gaps are filled with the value one season earlier (`seasonPeriod` steps, when known and filled),
 * else by linear interpolation between the neighbours; a trailing gap repeats the last value.
 */
function regularize(series, stepMs, options = {}) {
    const pairs = [];
    for (let i = 0; i < Math.min(series.timestamps.length, series.values.length); i++) {
        const t = series.timestamps[i];
        const v = series.values[i];
        if (Number.isFinite(t) && Number.isFinite(v))
            pairs.push([t, v]);
    }
    if (pairs.length === 0)
        return { startMs: NaN, stepMs, values: new Float64Array(0), filled: 0, observed: new Uint8Array(0) };
    pairs.sort((a, b) => a[0] - b[0]);
    const startMs = pairs[0][0];
    const n = Math.floor((pairs[pairs.length - 1][0] - startMs) / stepMs) + 1;
    const sums = new Float64Array(n);
    const counts = new Uint32Array(n);
    for (const [t, v] of pairs) {
        const i = Math.floor((t - startMs) / stepMs);
        sums[i] += v;
        counts[i] += 1;
    }
    const nativeStepMs = options.nativeStepMs ?? inferStepMs(pairs.map((p) => p[0]));
    const scale = (options.aggregation ?? 'sum') === 'sum' ? Math.max(1, stepMs / nativeStepMs) : 1;
    const values = new Float64Array(n).fill(NaN);
    for (let i = 0; i < n; i++)
        if (counts[i] > 0)
            values[i] = (sums[i] / counts[i]) * scale;
    const filled = fillGaps(values, options.seasonPeriod);
    return { startMs, stepMs, values, filled, observed: Uint8Array.from(counts, (c) => (c > 0 ? 1 : 0)) };
}
/** Fills NaN in place (see `regularize`); returns how many values were filled. */
function fillGaps(values, seasonPeriod) {
    let filled = 0;
    let i = 0;
    while (i < values.length) {
        if (!Number.isNaN(values[i])) {
            i++;
            continue;
        }
        let end = i;
        while (end < values.length && Number.isNaN(values[end]))
            end++;
        const before = i > 0 ? values[i - 1] : NaN;
        const after = end < values.length ? values[end] : NaN;
        for (let k = i; k < end; k++) {
            const seasonal = seasonPeriod && seasonPeriod > 1 && k - seasonPeriod >= 0 ? values[k - seasonPeriod] : NaN;
            if (end - i > 1 && Number.isFinite(seasonal))
                values[k] = seasonal;
            else if (Number.isFinite(before) && Number.isFinite(after))
                values[k] = before + ((after - before) * (k - i + 1)) / (end - i + 1);
            else
                values[k] = Number.isFinite(before) ? before : after;
        }
        filled += end - i;
        i = end;
    }
    return filled;
}
/** The last `count` values (bounded training windows keep fits fast and recent). */
function tail(series, count) {
    const from = Math.max(0, series.values.length - count);
    return {
        ...series,
        startMs: series.startMs + from * series.stepMs,
        values: series.values.subarray(from),
        observed: series.observed?.subarray(from),
    };
}
/** The first `count` values: the part of the series known at an origin. */
function head(series, count) {
    const end = Math.max(0, Math.min(count, series.values.length));
    return { ...series, values: series.values.subarray(0, end), observed: series.observed?.subarray(0, end) };
}
/** Means of consecutive blocks of `factor` values, aligned so the last block ends at the last value. */
function coarsen(values, factor) {
    if (factor <= 1)
        return values;
    const blocks = Math.floor(values.length / factor);
    const offset = values.length - blocks * factor;
    const out = new Float64Array(blocks);
    for (let b = 0; b < blocks; b++) {
        let s = 0;
        for (let j = 0; j < factor; j++)
            s += values[offset + b * factor + j];
        out[b] = s / factor;
    }
    return out;
}
/**
 * Inverse of `coarsen` for a forecast: block means placed at block centres, linearly interpolated
 * to the fine grid (`lastKnown` is the mean of the last observed block, to anchor the first steps).
 */
function refine(coarse, factor, horizon, lastKnown) {
    const out = new Float64Array(horizon);
    if (factor <= 1) {
        for (let h = 0; h < horizon; h++)
            out[h] = coarse[Math.min(h, coarse.length - 1)];
        return out;
    }
    // Fine step h (0-based after the origin) sits at coarse position (h + 0.5) / factor - 0.5,
    // where position -1 is the last observed block.
    const at = (k) => (k < 0 ? lastKnown : coarse[Math.min(k, coarse.length - 1)]);
    for (let h = 0; h < horizon; h++) {
        const pos = (h + 0.5) / factor - 0.5;
        const k = Math.floor(pos);
        const w = pos - k;
        out[h] = at(k) * (1 - w) + at(k + 1) * w;
    }
    return out;
}
//# sourceMappingURL=series.js.map