import { MAX_LAYOUT_SHARDS, MAX_SHARD_WEIGHT, SHARD_HASH_ALGORITHM, ShardAssignedSchema } from '@shardcast/contracts';
import { ALGORITHM, DEFAULT_LOAD_BOUND_PERMILLE, DEFAULT_TABLE_BITS, MAX_SHARDS, MAX_WEIGHT } from './layout';

describe('the published layout (shard.assigned.v1) names this library exactly', () => {
  it('the algorithm and its bounds are the contract’s', () => {
    expect(SHARD_HASH_ALGORITHM).toBe(ALGORITHM);
    expect(MAX_LAYOUT_SHARDS).toBe(MAX_SHARDS);
    expect(MAX_SHARD_WEIGHT).toBe(MAX_WEIGHT);
  });

  it('a layout with the library’s defaults is a valid payload; one past its bounds is not', () => {
    const layout = {
      domain: 'app.example.com',
      version: 2,
      shards: [
        { region: 'eu-west-1', hostname: 'eu-west-1.app.example.com', state: 'active', weight: MAX_WEIGHT, endpoints: { ipv4: ['192.0.2.1'], ipv6: [] } },
        { region: 'us-east-1', hostname: 'us-east-1.app.example.com', state: 'warming', weight: 1, endpoints: { cname: 'ingress.us-east-1.example.net' } },
      ],
      ring: { algorithm: ALGORITHM, seed: 0, tableBits: DEFAULT_TABLE_BITS, loadBoundPermille: DEFAULT_LOAD_BOUND_PERMILLE },
      movement: { fromVersion: 1, moved: 0, exact: true, flows: [] },
      pendingMovement: { fromVersion: 2, moved: 0.5, exact: true, flows: [{ from: 'eu-west-1.app.example.com', to: 'us-east-1.app.example.com', fraction: 0.5 }] },
      source: { planId: 'plan-7', planVersion: 7 },
    };
    expect(ShardAssignedSchema.safeParse(layout).success).toBe(true);
    expect(ShardAssignedSchema.safeParse({ ...layout, shards: [{ ...layout.shards[0], weight: MAX_WEIGHT + 1 }] }).success).toBe(false);
    expect(ShardAssignedSchema.safeParse({ ...layout, shards: [layout.shards[0], layout.shards[0]] }).success).toBe(false); // hostnames unique
    expect(ShardAssignedSchema.safeParse({ ...layout, ring: { ...layout.ring, algorithm: 'rendezvous-xxh64' } }).success).toBe(false);
  });
});
