import { join } from 'node:path';
import { ForecastWorkerPool } from './forecast-worker-pool';
import { ModelFitError } from './model-task';

describe('ForecastWorkerPool', () => {
  describe('with the real model worker', () => {
    const pool = new ForecastWorkerPool({ size: 1 });
    afterAll(() => pool.close());

    it('fits MSTL and Prophet in the ESM worker', async () => {
      const y = Float64Array.from({ length: 96 }, (_, i) => 10 + Math.sin((2 * Math.PI * i) / 24));
      const mstl = await pool.run({ kind: 'mstl', y, periods: [24], horizon: 24 });
      expect(mstl).toHaveLength(24);
      expect(Math.abs(mstl[6] - 11)).toBeLessThan(0.5);
      const ds = Float64Array.from(y, (_, i) => 1.7e9 + i * 3600);
      const futureDs = Float64Array.from({ length: 24 }, (_, i) => 1.7e9 + (96 + i) * 3600);
      const prophet = await pool.run({ kind: 'prophet', y, ds, futureDs, horizon: 24, daily: true, weekly: false, yearly: false });
      expect(prophet.every(Number.isFinite)).toBe(true);
    });

    it('turns an augurs error into a ModelFitError and keeps the worker', async () => {
      await expect(pool.run({ kind: 'mstl', y: Float64Array.from([1, 2, 3]), periods: [24], horizon: 2 })).rejects.toThrow(ModelFitError);
      expect(pool.replaced).toBe(0);
      expect(pool.stats.mstl?.failures).toBe(1);
    });
  });

  describe('with a worker that traps', () => {
    const logs: string[] = [];
    const pool = new ForecastWorkerPool({
      size: 2,
      workerPath: join(__dirname, 'worker', 'fixtures', 'trap-worker.mjs'),
      onModelLog: (kind, message) => logs.push(`${kind}: ${message}`),
    });
    afterAll(() => pool.close());
    const y = Float64Array.from([1, 2, 3]);

    it('replaces a worker after a WebAssembly unreachable and keeps serving', async () => {
      const err = await pool.run({ kind: 'arima', y, p: 1, d: 0, q: 1, horizon: 2 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelFitError);
      expect((err as ModelFitError).fatal).toBe(true);
      expect((err as ModelFitError).message).toMatch(/unreachable/);
      expect(pool.replaced).toBe(1);
      expect(pool.size).toBe(2);
      const results = await Promise.all([1, 2, 3, 4].map(() => pool.run({ kind: 'mstl', y, periods: [2], horizon: 2 })));
      expect(results.map((r) => Array.from(r))).toEqual(new Array(4).fill([3, 3]));
    });

    it('reports a thrown string without replacing, and a dead thread by replacing', async () => {
      await expect(pool.run({ kind: 'ets', y, seasonLength: 1, spec: 'ZZN', horizon: 2 })).rejects.toThrow('ets: Fit error: no model found');
      const before = pool.replaced;
      const dead = Float64Array.from([-1]);
      const err = await pool
        .run({ kind: 'prophet', y: dead, ds: dead, futureDs: dead, horizon: 1, daily: false, weekly: false, yearly: false })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelFitError);
      expect(pool.replaced).toBe(before + 1);
      await expect(pool.run({ kind: 'mstl', y, periods: [2], horizon: 1 })).resolves.toHaveLength(1);
      expect(logs).toEqual(['mstl: fixture says hello']);
    });
  });

  it('stops respawning and fails tasks when workers cannot start', async () => {
    const pool = new ForecastWorkerPool({ size: 2, workerPath: join(__dirname, 'worker', 'fixtures', 'broken-worker.mjs') });
    try {
      const y = Float64Array.from([1, 2, 3]);
      await expect(pool.run({ kind: 'mstl', y, periods: [2], horizon: 1 })).rejects.toThrow(/cannot start: .*cannot load wasm/);
      await expect(pool.run({ kind: 'mstl', y, periods: [2], horizon: 1 })).rejects.toThrow(ModelFitError);
    } finally {
      await pool.close();
    }
  });
});
