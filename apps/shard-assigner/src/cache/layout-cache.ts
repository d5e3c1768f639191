import Redis from 'ioredis';
import { ShardAssigned } from '@shardcast/contracts';
import { Logger } from '@shardcast/platform';
import { AssignmentStore } from '../persistence/assignment-store';

/** Sets the layout only if it is newer than the one held: writers racing (instances, a rebuild) never move it back. */
const PUT_IF_NEWER = `
local held = redis.call('HGET', KEYS[1], 'version')
if held and tonumber(held) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'layout', ARGV[2])
return 1`;

/**
 * The latest layout per domain in Redis, for the HTTP API. PostgreSQL holds the truth: a miss is
 * read from it and filled in, and at start-up every domain's latest layout is put again (a flushed
 * or stale Redis is rebuilt). A put never replaces a newer version.
 */
export class LayoutCache {
  constructor(private readonly redis: Redis) {}

  private key(domain: string): string {
    return `layout:${domain}`;
  }

  /** True when stored, false when Redis held this version or a newer one. */
  async put(layout: ShardAssigned): Promise<boolean> {
    return (await this.redis.eval(PUT_IF_NEWER, 1, this.key(layout.domain), String(layout.version), JSON.stringify(layout))) === 1;
  }

  async get(domain: string): Promise<ShardAssigned | null> {
    const raw = await this.redis.hget(this.key(domain), 'layout');
    return raw === null ? null : (JSON.parse(raw) as ShardAssigned);
  }

  async version(domain: string): Promise<number | null> {
    const raw = await this.redis.hget(this.key(domain), 'version');
    return raw === null ? null : Number(raw);
  }
}

/** Puts every domain's latest layout from PostgreSQL into Redis (where Redis holds an older one, or none). */
export async function rebuildLayoutCache(store: AssignmentStore, cache: LayoutCache, logger: Logger): Promise<void> {
  let seen = 0;
  let written = 0;
  for await (const page of store.latestLayouts()) {
    for (const layout of page) {
      seen++;
      if (await cache.put(layout)) written++;
    }
  }
  logger.info({ layouts: seen, written }, 'layout cache rebuilt from PostgreSQL');
}
