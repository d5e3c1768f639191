// Model worker (ESM): fits one model per task with @bsull/augurs and the `arima` package.
//
// Why a hand-written .mjs: @bsull/augurs is ESM-only and the Prophet optimizer
// (@bsull/augurs-prophet-wasmstan) uses top-level await, which CommonJS `require` cannot load.
// `await init()` fetches a file: URL and fails on Node 20, so the wasm bytes are read from beside
// `require.resolve('@bsull/augurs/<module>')` and passed to `initSync` (docs/decisions/0006-forecast-selection-and-calibration.md).
// Messages follow `ModelTask` / `WorkerReply` in ../model-task.ts; keep the two in step.
import { parentPort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

// augurs and the Stan optimizer print to the console (e.g. "optimization failed: 70"); collect it
// per task and hand it to the pool with the reply, so the service logs it structured, or not at all.
let taskLogs = [];
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => taskLogs.push(args.map(String).join(' '));
}
const augursDir = dirname(require.resolve('@bsull/augurs/mstl'));
const load = async (name) => {
  const mod = await import(pathToFileURL(join(augursDir, `${name}.js`)).href);
  mod.initSync({ module: readFileSync(join(augursDir, `${name}_bg.wasm`)) });
  return mod;
};
const { MSTL } = await load('mstl');
const { AutoETS } = await load('ets');
const { Prophet } = await load('prophet');
const { optimizer } = await import(pathToFileURL(require.resolve('@bsull/augurs-prophet-wasmstan')).href);
const ARIMA = require('arima');

function withModel(model, fn) {
  try {
    return fn(model);
  } finally {
    model.free?.();
  }
}

const runners = {
  mstl: (t) => withModel(MSTL.ets(t.periods, {}), (m) => {
    m.fit(t.y);
    return m.predict(t.horizon).point;
  }),
  ets: (t) => withModel(new AutoETS(t.seasonLength, t.spec), (m) => {
    m.fit(t.y);
    return m.predict(t.horizon).point;
  }),
  prophet: (t) => withModel(
    new Prophet({
      optimizer,
      uncertaintySamples: 0,
      dailySeasonality: { type: 'manual', enabled: t.daily },
      weeklySeasonality: { type: 'manual', enabled: t.weekly },
      yearlySeasonality: { type: 'manual', enabled: t.yearly },
    }),
    (m) => {
      m.fit({ ds: Array.from(t.ds), y: t.y });
      return m.predict({ ds: Array.from(t.futureDs) }).yhat.point;
    },
  ),
  arima: (t) => {
    const model = new ARIMA({ p: t.p, d: t.d, q: t.q, method: t.method ?? 0, verbose: false }).train(Array.from(t.y));
    try {
      const [point] = model.predict(t.horizon);
      return point;
    } finally {
      model.destroy?.(); // frees the model's wasm memory (arima README)
    }
  },
};

parentPort.on('message', ({ id, task }) => {
  const started = performance.now();
  taskLogs = [];
  try {
    const run = runners[task.kind];
    if (!run) throw new Error(`unknown model kind ${task.kind}`);
    const point = Float64Array.from(run(task));
    if (point.length !== task.horizon || point.some((v) => !Number.isFinite(v))) {
      throw new Error(`${task.kind} returned a non-finite or short forecast`);
    }
    parentPort.postMessage({ id, ok: true, point, ms: performance.now() - started, logs: taskLogs }, [point.buffer]);
  } catch (err) {
    // augurs throws strings; a wasm trap (`unreachable`) leaves the instance unusable, so the pool
    // replaces this worker when `fatal` is set.
    const message = err instanceof Error ? err.message : String(err);
    const fatal = err instanceof WebAssembly.RuntimeError || /unreachable|memory access out of bounds/i.test(message);
    parentPort.postMessage({ id, ok: false, error: `${task.kind}: ${message}`, fatal, logs: taskLogs });
  }
});
parentPort.postMessage({ ready: true });
