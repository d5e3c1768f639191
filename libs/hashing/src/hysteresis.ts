/**
 * Integer weights from reserved capacity, with hysteresis: a shard keeps its previous weight until
 * its quantised target differs from it by more than `holdFraction`, so small capacity changes do
 * not republish weights (nor move keys) on every plan. Pure.
 */
export interface WeightQuantisation {
  /** Weights sum to about this many units (scale-free: doubling every capacity changes nothing). */
  readonly totalUnits: number;
  /** A weight changes only when its target differs from it by more than this fraction of it. */
  readonly holdFraction: number;
}

export const DEFAULT_WEIGHT_QUANTISATION: WeightQuantisation = { totalUnits: 1000, holdFraction: 0.1 };

export function quantiseWeights(
  capacity: ReadonlyMap<string, number>,
  previous: ReadonlyMap<string, number> = new Map(),
  { totalUnits, holdFraction }: WeightQuantisation = DEFAULT_WEIGHT_QUANTISATION,
): Map<string, number> {
  let total = 0;
  for (const [id, c] of capacity) {
    if (!(Number.isFinite(c) && c > 0)) throw new Error(`capacity of ${id} must be a positive number`);
    total += c;
  }
  const weights = new Map<string, number>();
  for (const [id, c] of capacity) {
    const target = Math.max(1, Math.round((c / total) * totalUnits));
    const held = previous.get(id);
    weights.set(id, held !== undefined && Math.abs(target - held) <= holdFraction * held ? held : target);
  }
  return weights;
}
