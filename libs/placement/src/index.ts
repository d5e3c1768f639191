/** @shardcast/placement: which regions a domain's shards live in (ranking, hysteresis, lifecycle) and their names. Pure. */
export { rankRegions, topRegions, checkRankingPolicy, DEFAULT_RANKING_POLICY } from './ranking';
export type { RankedRegion, RegionRanking, RankingPolicy, RoundTrips } from './ranking';
export { nextShardSet, servingRegions, checkShardSetPolicy, DEFAULT_SHARD_SET_POLICY, EMPTY_SHARD_SET, ShardStates } from './shard-set';
export type { ShardSet, ShardMember, ShardState, PendingChallenger, ShardSetPolicy } from './shard-set';
export { checkSlug, regionSlug, checkRegionSlugs, shardHostname, shardName } from './names';
export type { RegionSlugs, NameResult, ShardNameError, ShardNameErrorCode } from './names';
export { assignShards, newAssignmentState, layoutSeed, activeHashLayout, canonicalJson, DEFAULT_ASSIGNMENT_POLICY } from './assignment';
export type { Assignment, AssignmentInput, AssignmentPolicy, AssignmentState, Layout } from './assignment';
