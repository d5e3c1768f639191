import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ModelFitError, ModelRunner, ModelTask, WorkerReply } from './model-task';

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

interface Job {
  id: number;
  task: ModelTask;
  resolve: (point: Float64Array) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Job;
  timer?: NodeJS.Timeout;
}

/**
 * The ESM worker entry. `tsc` does not copy `.mjs` files: from `dist/src` the package's own
 * `src/worker/` copy is preferred (always current in the monorepo), else the one that
 * `scripts/copy-assets.sh` put beside the compiled code (a deployment without sources).
 */
export function defaultWorkerPath(): string {
  const candidates = [
    join(__dirname, '..', '..', 'src', 'worker', 'forecast-worker.mjs'),
    join(__dirname, 'worker', 'forecast-worker.mjs'),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`forecast worker entry not found in ${candidates.join(' or ')}`);
  return found;
}

/**
 * A small pool of model workers (worker_threads running an ESM entry), so that model fits run off
 * the event loop and in parallel. A worker that hits a WebAssembly trap, crashes or times out is
 * terminated and replaced; its task fails with a `ModelFitError` and the caller falls back.
 */
export class ForecastWorkerPool implements ModelRunner {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly workerPath: string;
  private readonly timeoutMs: number;
  private readonly onModelLog?: ForecastWorkerPoolOptions['onModelLog'];
  private nextId = 1;
  private closed = false;
  /** Workers that died before they were ready, in a row; at 3 the pool stops respawning. */
  private startupFailures = 0;
  private broken?: string;
  /** Workers replaced after a trap, crash or timeout. */
  replaced = 0;
  /** Tasks completed and time spent inside workers, per model kind. */
  readonly stats: Partial<Record<ModelTask['kind'], { tasks: number; failures: number; workerMs: number }>> = {};

  constructor(options: ForecastWorkerPoolOptions = {}) {
    this.workerPath = options.workerPath ?? defaultWorkerPath();
    this.timeoutMs = options.taskTimeoutMs ?? 60_000;
    this.onModelLog = options.onModelLog;
    const size = Math.max(1, options.size ?? availableParallelism());
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.slots.length;
  }

  run(task: ModelTask): Promise<Float64Array> {
    if (this.closed) return Promise.reject(new ModelFitError('forecast worker pool is closed'));
    if (this.broken) return Promise.reject(new ModelFitError(this.broken));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task: copyArrays(task), resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates the workers; queued tasks fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new ModelFitError('forecast worker pool closed'));
    await Promise.all(
      this.slots.map((slot) => {
        clearTimeout(slot.timer);
        slot.job?.reject(new ModelFitError('forecast worker pool closed'));
        slot.job = undefined;
        return slot.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerPath);
    const slot: Slot = { worker, ready: false };
    worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
    worker.on('error', (err) => this.replace(slot, `worker crashed: ${err.message}`));
    worker.on('exit', (code) => {
      if (!this.closed && this.slots.includes(slot)) this.replace(slot, `worker exited with code ${code}`);
    });
    return slot;
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    if ('ready' in reply) {
      slot.ready = true;
      this.startupFailures = 0;
      this.dispatch();
      return;
    }
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    clearTimeout(slot.timer);
    slot.job = undefined;
    for (const message of reply.logs ?? []) this.onModelLog?.(job.task.kind, message);
    const stat = (this.stats[job.task.kind] ??= { tasks: 0, failures: 0, workerMs: 0 });
    stat.tasks++;
    if (reply.ok) stat.workerMs += reply.ms;
    else stat.failures++;
    if (reply.ok) job.resolve(reply.point);
    else job.reject(new ModelFitError(reply.error, reply.fatal));
    if (!reply.ok && reply.fatal) this.replace(slot, undefined);
    else this.dispatch();
  }

  /** Replaces a worker whose wasm instance or thread can no longer be trusted. */
  private replace(slot: Slot, reason: string | undefined): void {
    const index = this.slots.indexOf(slot);
    if (index < 0 || this.closed) return;
    clearTimeout(slot.timer);
    if (slot.job && reason) slot.job.reject(new ModelFitError(`${slot.job.task.kind}: ${reason}`, true));
    slot.job = undefined;
    this.slots.splice(index, 1);
    slot.worker.removeAllListeners();
    slot.worker.on('error', () => undefined);
    void slot.worker.terminate();
    if (!slot.ready && ++this.startupFailures >= 3) {
      // A worker that cannot even load its models (missing package, bad wasm) would respawn forever.
      this.broken = `forecast worker cannot start: ${reason ?? 'unknown reason'}`;
      for (const job of this.queue.splice(0)) job.reject(new ModelFitError(this.broken));
      return;
    }
    this.replaced++;
    this.slots.push(this.spawn());
    this.dispatch();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.timer = setTimeout(() => this.replace(slot, `timed out after ${this.timeoutMs} ms`), this.timeoutMs);
      slot.worker.postMessage({ id: job.id, task: job.task }, transferables(job.task));
    }
  }
}

/** Own copies of the task's arrays, so they can be transferred without detaching the caller's views. */
function copyArrays(task: ModelTask): ModelTask {
  const out: Record<string, unknown> = { ...task };
  for (const [k, v] of Object.entries(out)) if (v instanceof Float64Array) out[k] = v.slice();
  return out as ModelTask;
}

function transferables(task: ModelTask): ArrayBuffer[] {
  return Object.values(task)
    .filter((v): v is Float64Array => v instanceof Float64Array)
    .map((v) => v.buffer as ArrayBuffer);
}
