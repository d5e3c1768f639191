/** @shardcast/shard-client: the client SDK of `shard.assigned.v1` — the latest layout per domain, and `shardFor(domain, key)` in memory. */
export { ShardDirectory } from './shard-directory';
export type { LayoutOutcome, ShardRoute } from './shard-directory';
export { ShardClient } from './shard-client';
export type { ShardClientOptions } from './shard-client';
