/** @shardcast/hashing: a domain's keys to its shards (weighted, bounded-load rendezvous table), movement plans, weight hysteresis. Pure. */
export { ALGORITHM, DEFAULT_TABLE_BITS, DEFAULT_LOAD_BOUND_PERMILLE, MAX_SHARDS, MAX_WEIGHT, layoutProblem } from './layout';
export type { HashLayout, LayoutShard } from './layout';
export { ShardMap, buildTable, keySlot } from './table';
export { movementPlan } from './movement';
export type { MovementPlan, Flow } from './movement';
export { quantiseWeights, DEFAULT_WEIGHT_QUANTISATION } from './hysteresis';
export type { WeightQuantisation } from './hysteresis';
export { xxh32, xxh32Pair, xxh32Utf8 } from './xxh32';
