import { seededRandom } from '@shardcast/telemetry';
import { ModelFitError, ModelRunner, ModelTask } from './model-task';

/** Standard normal draws (Box–Muller) from the project's seeded PRNG: repeatable statistical tests. */
export function seededNormal(seed: number): () => number {
  const u = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** A runner whose models fail like augurs does (thrown strings), counting the tasks it was given. */
export function failingRunner(kinds: ModelTask['kind'][] = ['mstl', 'ets', 'prophet', 'arima']): ModelRunner & { calls: ModelTask['kind'][] } {
  const calls: ModelTask['kind'][] = [];
  return {
    calls,
    run: async (task) => {
      calls.push(task.kind);
      if (kinds.includes(task.kind)) throw new ModelFitError(`${task.kind}: Fit error: running STL: series has less than two periods`);
      // A stand-in model: the last value, flat.
      return new Float64Array(task.horizon).fill(task.y[task.y.length - 1]);
    },
  };
}
