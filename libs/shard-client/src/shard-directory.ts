import { RegionEndpoints, ShardAssigned, ShardAssignedSchema } from '@shardcast/contracts';
import { ShardMap } from '@shardcast/hashing';

/** Where a key goes: the shard's hostname, region and endpoints. */
export interface ShardRoute {
  hostname: string;
  region: string;
  endpoints: RegionEndpoints;
}

/** What one message did to the directory. */
export type LayoutOutcome = 'applied' | 'stale' | 'removed' | 'invalid';

interface DomainLayout {
  layout: ShardAssigned;
  map: ShardMap;
  byHostname: Map<string, ShardRoute>;
}

/**
 * The latest shard layout of each domain, as `shard.assigned.v1` publishes it, and the key → shard
 * answer from it in memory. Pure: the client feeds it messages; tests and other transports can too.
 * Keys map to the `active` shards only (decision 0029); an older version than the one held is
 * ignored (a compacted topic may replay, partitions may be re-read).
 */
export class ShardDirectory {
  private readonly domains = new Map<string, DomainLayout>();

  /** One message of the topic: its key (the domain) and its value (a layout payload, or null: a tombstone). */
  apply(domain: string, payload: unknown | null): LayoutOutcome {
    if (payload === null) {
      const had = this.domains.delete(domain);
      return had ? 'removed' : 'stale';
    }
    const parsed = ShardAssignedSchema.safeParse(payload);
    if (!parsed.success || parsed.data.domain !== domain) return 'invalid';
    const layout = parsed.data;
    const held = this.domains.get(domain);
    if (held && held.layout.version >= layout.version) return 'stale';
    const active = layout.shards.filter((s) => s.state === 'active');
    const map = new ShardMap({ ...layout.ring, shards: active.map((s) => ({ id: s.hostname, weight: s.weight })) });
    const byHostname = new Map(active.map((s) => [s.hostname, { hostname: s.hostname, region: s.region, endpoints: s.endpoints }]));
    this.domains.set(domain, { layout, map, byHostname });
    return 'applied';
  }

  /** The shard a key of this domain maps to; null when the domain has no layout or no active shard. */
  shardFor(domain: string, key: string): ShardRoute | null {
    const held = this.domains.get(domain);
    if (!held) return null;
    const hostname = held.map.shardFor(key);
    return hostname === undefined ? null : held.byHostname.get(hostname)!;
  }

  layout(domain: string): ShardAssigned | null {
    return this.domains.get(domain)?.layout ?? null;
  }

  get size(): number {
    return this.domains.size;
  }
}
