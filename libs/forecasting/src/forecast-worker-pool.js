"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.ForecastWorkerPool = void 0;
exports.defaultWorkerPath = defaultWorkerPath;
const node_fs_1 = require("node:fs");
const node_os_1 = require("node:os");
const node_path_1 = require("node:path");
const node_worker_threads_1 = require("node:worker_threads");
const model_task_1 = require("./model-task");
/**
 * The ESM worker entry. `tsc` does not copy `.mjs` files: from `dist/src` the package's own
 * `src/worker/` copy is preferred (always current in the monorepo), else the one that
 * `scripts/copy-assets.sh` put beside the compiled code (a deployment without sources).
 */
function defaultWorkerPath() {
    const candidates = [
        (0, node_path_1.join)(__dirname, '..', '..', 'src', 'worker', 'forecast-worker.mjs'),
        (0, node_path_1.join)(__dirname, 'worker', 'forecast-worker.mjs'),
    ];
    const found = candidates.find((p) => (0, node_fs_1.existsSync)(p));
    if (!found)
        throw new Error(`forecast worker entry not found in ${candidates.join(' or ')}`);
    return found;
}
/**
 * A small pool of model workers (worker_threads running an ESM entry), so that model fits run off
 * the event loop and in parallel. A worker that hits a WebAssembly trap, crashes or times out is
 * terminated and replaced; its task fails with a `ModelFitError` and the caller falls back.
 */
class ForecastWorkerPool {
    slots = [];
    queue = [];
    workerPath;
    timeoutMs;
    onModelLog;
    nextId = 1;
    closed = false;
    /** Workers that died before they were ready, in a row; at 3 the pool stops respawning. */
    startupFailures = 0;
    broken;
    /** Workers replaced after a trap, crash or timeout. */
    replaced = 0;
    /** Tasks completed and time spent inside workers, per model kind. */
    stats = {};
    constructor(options = {}) {
        this.workerPath = options.workerPath ?? defaultWorkerPath();
        this.timeoutMs = options.taskTimeoutMs ?? 60_000;
        this.onModelLog = options.onModelLog;
        const size = Math.max(1, options.size ?? (0, node_os_1.availableParallelism)());
        for (let i = 0; i < size; i++)
            this.slots.push(this.spawn());
    }
    get size() {
        return this.slots.length;
    }
    run(task) {
        if (this.closed)
            return Promise.reject(new model_task_1.ModelFitError('forecast worker pool is closed'));
        if (this.broken)
            return Promise.reject(new model_task_1.ModelFitError(this.broken));
        return new Promise((resolve, reject) => {
            this.queue.push({ id: this.nextId++, task: copyArrays(task), resolve, reject });
            this.dispatch();
        });
    }
    /** Terminates the workers; queued tasks fail. */
    async close() {
        this.closed = true;
        for (const job of this.queue.splice(0))
            job.reject(new model_task_1.ModelFitError('forecast worker pool closed'));
        await Promise.all(this.slots.map((slot) => {
            clearTimeout(slot.timer);
            slot.job?.reject(new model_task_1.ModelFitError('forecast worker pool closed'));
            slot.job = undefined;
            return slot.worker.terminate();
        }));
    }
    spawn() {
        const worker = new node_worker_threads_1.Worker(this.workerPath);
        const slot = { worker, ready: false };
        worker.on('message', (reply) => this.onReply(slot, reply));
        worker.on('error', (err) => this.replace(slot, `worker crashed: ${err.message}`));
        worker.on('exit', (code) => {
            if (!this.closed && this.slots.includes(slot))
                this.replace(slot, `worker exited with code ${code}`);
        });
        return slot;
    }
    onReply(slot, reply) {
        if ('ready' in reply) {
            slot.ready = true;
            this.startupFailures = 0;
            this.dispatch();
            return;
        }
        const job = slot.job;
        if (!job || job.id !== reply.id)
            return;
        clearTimeout(slot.timer);
        slot.job = undefined;
        for (const message of reply.logs ?? [])
            this.onModelLog?.(job.task.kind, message);
        const stat = (this.stats[job.task.kind] ??= { tasks: 0, failures: 0, workerMs: 0 });
        stat.tasks++;
        if (reply.ok)
            stat.workerMs += reply.ms;
        else
            stat.failures++;
        if (reply.ok)
            job.resolve(reply.point);
        else
            job.reject(new model_task_1.ModelFitError(reply.error, reply.fatal));
        if (!reply.ok && reply.fatal)
            this.replace(slot, undefined);
        else
            this.dispatch();
    }
    /** Replaces a worker whose wasm instance or thread can no longer be trusted. */
    replace(slot, reason) {
        const index = this.slots.indexOf(slot);
        if (index < 0 || this.closed)
            return;
        clearTimeout(slot.timer);
        if (slot.job && reason)
            slot.job.reject(new model_task_1.ModelFitError(`${slot.job.task.kind}: ${reason}`, true));
        slot.job = undefined;
        this.slots.splice(index, 1);
        slot.worker.removeAllListeners();
        slot.worker.on('error', () => undefined);
        void slot.worker.terminate();
        if (!slot.ready && ++this.startupFailures >= 3) {
            // A worker that cannot even load its models (missing package, bad wasm) would respawn forever.
            this.broken = `forecast worker cannot start: ${reason ?? 'unknown reason'}`;
            for (const job of this.queue.splice(0))
                job.reject(new model_task_1.ModelFitError(this.broken));
            return;
        }
        this.replaced++;
        this.slots.push(this.spawn());
        this.dispatch();
    }
    dispatch() {
        for (const slot of this.slots) {
            if (this.queue.length === 0)
                return;
            if (!slot.ready || slot.job)
                continue;
            const job = this.queue.shift();
            slot.job = job;
            slot.timer = setTimeout(() => this.replace(slot, `timed out after ${this.timeoutMs} ms`), this.timeoutMs);
            slot.worker.postMessage({ id: job.id, task: job.task }, transferables(job.task));
        }
    }
}
exports.ForecastWorkerPool = ForecastWorkerPool;
/** Own copies of the task's arrays, so they can be transferred without detaching the caller's views. */
function copyArrays(task) {
    const out = { ...task };
    for (const [k, v] of Object.entries(out))
        if (v instanceof Float64Array)
            out[k] = v.slice();
    return out;
}
function transferables(task) {
    return Object.values(task)
        .filter((v) => v instanceof Float64Array)
        .map((v) => v.buffer);
}
//# sourceMappingURL=forecast-worker-pool.js.map