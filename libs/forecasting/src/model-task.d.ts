/**
 * One model fit-and-predict, as sent to a model worker (worker/forecast-worker.mjs implements it).
 * Values are on a regular, gap-free grid; the worker returns `horizon` point forecasts.
 */
export type ModelTask = {
    kind: 'mstl';
    y: Float64Array;
    periods: number[];
    horizon: number;
} | {
    kind: 'ets';
    y: Float64Array;
    seasonLength: number;
    spec: string;
    horizon: number;
} | {
    kind: 'prophet';
    y: Float64Array;
    /** Epoch seconds of `y` and of the forecast steps. */
    ds: Float64Array;
    futureDs: Float64Array;
    horizon: number;
    daily: boolean;
    weekly: boolean;
    yearly: boolean;
} | {
    kind: 'arima';
    y: Float64Array;
    p: number;
    d: number;
    q: number;
    /** The `arima` package's estimation method: 0 exact ML, 1 conditional sum of squares, 2 Box–Jenkins. */
    method?: 0 | 1 | 2;
    horizon: number;
};
export type ModelKind = ModelTask['kind'];
/** Where model tasks run: the worker pool in production, a fake in unit tests. */
export interface ModelRunner {
    /** Resolves with the point forecast; rejects with a `ModelFitError` when the model fails. */
    run(task: ModelTask): Promise<Float64Array>;
}
/** A model could not be fitted or predicted; the caller falls back to the next model. */
export declare class ModelFitError extends Error {
    /** The worker hit a WebAssembly trap and was replaced. */
    readonly fatal: boolean;
    readonly code = "FORECAST_MODEL_FAILED";
    constructor(message: string, 
    /** The worker hit a WebAssembly trap and was replaced. */
    fatal?: boolean);
}
/** Worker → pool messages. */
export type WorkerReply = {
    ready: true;
} | {
    id: number;
    ok: true;
    point: Float64Array;
    ms: number;
    logs?: string[];
} | {
    id: number;
    ok: false;
    error: string;
    fatal: boolean;
    logs?: string[];
};
