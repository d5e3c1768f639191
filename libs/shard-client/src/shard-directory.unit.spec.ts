import { ShardAssigned } from '@shardcast/contracts';
import { ShardMap } from '@shardcast/hashing';
import { ShardDirectory } from './shard-directory';

const ring = { algorithm: 'bounded-rendezvous-table-xxh32' as const, seed: 0, tableBits: 16, loadBoundPermille: 50 };
const endpoints = (n: number) => ({ ipv4: [`192.0.2.${n}`], ipv6: [] });

function layout(version: number, shards: Array<[string, 'warming' | 'active' | 'draining', number]>, domain = 'app.example.com'): ShardAssigned {
  return {
    domain,
    version,
    shards: shards.map(([region, state, weight], i) => ({ region, hostname: `${region}.${domain}`, state, weight, endpoints: endpoints(i + 1) })),
    ring,
    movement: { fromVersion: version > 1 ? version - 1 : null, moved: 0, exact: true, flows: [] },
    pendingMovement: null,
    source: { planId: `plan-${version}`, planVersion: version },
  };
}

describe('ShardDirectory: the latest layout per domain, and shardFor from it', () => {
  it('maps keys exactly as the hashing library does over the active shards only', () => {
    const d = new ShardDirectory();
    expect(d.apply('app.example.com', layout(1, [['eu-west-1', 'active', 600], ['us-east-1', 'active', 400], ['ap-south-1', 'warming', 500], ['sa-east-1', 'draining', 500]]))).toBe('applied');
    const expected = new ShardMap({ ...ring, shards: [{ id: 'eu-west-1.app.example.com', weight: 600 }, { id: 'us-east-1.app.example.com', weight: 400 }] });
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const route = d.shardFor('app.example.com', `user-${i}`)!;
      expect(route.hostname).toBe(expected.shardFor(`user-${i}`));
      seen.add(route.region);
    }
    expect([...seen].sort()).toEqual(['eu-west-1', 'us-east-1']); // never a warming or draining shard
    expect(d.shardFor('app.example.com', 'user-1')!.endpoints.ipv4[0]).toMatch(/^192\.0\.2\.[12]$/);
  });

  it('keeps the newest version: an older or equal one is stale; a tombstone removes the domain', () => {
    const d = new ShardDirectory();
    d.apply('app.example.com', layout(2, [['eu-west-1', 'active', 1]]));
    expect(d.apply('app.example.com', layout(1, [['us-east-1', 'active', 1]]))).toBe('stale');
    expect(d.apply('app.example.com', layout(2, [['us-east-1', 'active', 1]]))).toBe('stale');
    expect(d.shardFor('app.example.com', 'k')!.region).toBe('eu-west-1');
    expect(d.apply('app.example.com', layout(3, [['us-east-1', 'active', 1]]))).toBe('applied');
    expect(d.shardFor('app.example.com', 'k')!.region).toBe('us-east-1');
    expect(d.apply('app.example.com', null)).toBe('removed');
    expect(d.shardFor('app.example.com', 'k')).toBeNull();
    expect(d.apply('app.example.com', null)).toBe('stale');
  });

  it('refuses what is not a layout, or a layout under another domain’s key; an empty layout answers null', () => {
    const d = new ShardDirectory();
    expect(d.apply('app.example.com', { domain: 'app.example.com', version: 1 })).toBe('invalid');
    expect(d.apply('other.example.com', layout(1, [['eu-west-1', 'active', 1]]))).toBe('invalid');
    expect(d.size).toBe(0);
    expect(d.apply('app.example.com', layout(1, []))).toBe('applied');
    expect(d.shardFor('app.example.com', 'k')).toBeNull();
    expect(d.shardFor('unknown.example.com', 'k')).toBeNull();
  });
});
