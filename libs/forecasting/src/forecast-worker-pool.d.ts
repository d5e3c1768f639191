import { ModelRunner, ModelTask } from './model-task';
export interface ForecastWorkerPoolOptions {
    /** Workers (default: available cores). */
    size?: number;
    /** A task running longer than this fails and its worker is replaced (default 60 s). */
    taskTimeoutMs?: number;
    /** Path of the ESM worker entry (default: see `defaultWorkerPath`). */
    workerPath?: string;
    /** Console output of the model libraries during a task (default: dropped). */
    onModelLog?: (kind: ModelTask['kind'], message: string) => void;
}
/**
 * The ESM worker entry. `tsc` does not copy `.mjs` files: from `dist/src` the package's own
 * `src/worker/` copy is preferred (always current in the monorepo), else the one that
 * `scripts/copy-assets.sh` put beside the compiled code (a deployment without sources).
 */
export declare function defaultWorkerPath(): string;
/**
 * A small pool of model workers (worker_threads running an ESM entry), so that model fits run off
 * the event loop and in parallel. A worker that hits a WebAssembly trap, crashes or times out is
 * terminated and replaced; its task fails with a `ModelFitError` and the caller falls back.
 */
export declare class ForecastWorkerPool implements ModelRunner {
    private readonly slots;
    private readonly queue;
    private readonly workerPath;
    private readonly timeoutMs;
    private readonly onModelLog?;
    private nextId;
    private closed;
    /** Workers that died before they were ready, in a row; at 3 the pool stops respawning. */
    private startupFailures;
    private broken?;
    /** Workers replaced after a trap, crash or timeout. */
    replaced: number;
    /** Tasks completed and time spent inside workers, per model kind. */
    readonly stats: Partial<Record<ModelTask['kind'], {
        tasks: number;
        failures: number;
        workerMs: number;
    }>>;
    constructor(options?: ForecastWorkerPoolOptions);
    get size(): number;
    run(task: ModelTask): Promise<Float64Array>;
    /** Terminates the workers; queued tasks fail. */
    close(): Promise<void>;
    private spawn;
    private onReply;
    /** Replaces a worker whose wasm instance or thread can no longer be trusted. */
    private replace;
    private dispatch;
}
