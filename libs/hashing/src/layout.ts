/** A domain's hashing layout: everything a client needs to map keys to shards, and nothing else. */
export const ALGORITHM = 'bounded-rendezvous-table-xxh32';

export interface LayoutShard {
  /** Stable identity of the shard (its hostname): the rendezvous scores hash it, so keys follow it. */
  readonly id: string;
  /** Integer weight (reserved capacity, quantised by `quantiseWeights`), 1..MAX_WEIGHT. */
  readonly weight: number;
}

export interface HashLayout {
  readonly seed: number;
  /** The table has 2^tableBits slots. */
  readonly tableBits: number;
  /** ε in thousandths: no shard holds more than ceil((1 + ε) × its weighted share) of the slots. */
  readonly loadBoundPermille: number;
  /** In any order: the table does not depend on it. */
  readonly shards: readonly LayoutShard[];
}

export const DEFAULT_TABLE_BITS = 16;
export const DEFAULT_LOAD_BOUND_PERMILLE = 50;
// Bounds keep every step exact: slot × weight × (1000 + ε) stays far below 2^53, a table index fits a byte.
export const MAX_SHARDS = 255;
export const MAX_WEIGHT = 10_000;
export const MIN_TABLE_BITS = 8;
export const MAX_TABLE_BITS = 20;
export const MAX_LOAD_BOUND_PERMILLE = 1_000;

/** Why a layout is refused, or null. */
export function layoutProblem(layout: HashLayout): string | null {
  const { seed, tableBits, loadBoundPermille, shards } = layout;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) return 'seed must be an integer in 0..2^32-1';
  if (!Number.isInteger(tableBits) || tableBits < MIN_TABLE_BITS || tableBits > MAX_TABLE_BITS) {
    return `tableBits must be an integer in ${MIN_TABLE_BITS}..${MAX_TABLE_BITS}`;
  }
  if (!Number.isInteger(loadBoundPermille) || loadBoundPermille < 1 || loadBoundPermille > MAX_LOAD_BOUND_PERMILLE) {
    return `loadBoundPermille must be an integer in 1..${MAX_LOAD_BOUND_PERMILLE}`;
  }
  if (shards.length > MAX_SHARDS) return `at most ${MAX_SHARDS} shards`;
  const ids = new Set<string>();
  for (const { id, weight } of shards) {
    // Printable ASCII: the tie-break compares ids, and byte order equals code-unit order only there.
    if (!/^[\x21-\x7e]{1,253}$/.test(id)) return `shard id ${JSON.stringify(id)} must be 1..253 printable ASCII characters`;
    if (ids.has(id)) return `duplicate shard id ${id}`;
    ids.add(id);
    if (!Number.isInteger(weight) || weight < 1 || weight > MAX_WEIGHT) return `weight of ${id} must be an integer in 1..${MAX_WEIGHT}`;
  }
  return null;
}
