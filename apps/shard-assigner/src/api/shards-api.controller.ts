import { Controller, Get, HttpException, Param, Query, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ErrorCodes, normalizeDomain, RegionEndpoints, ShardAssigned } from '@shardcast/contracts';
import { ShardMap } from '@shardcast/hashing';
import { activeHashLayout } from '@shardcast/placement';
import { ApiKeyGuard } from '@shardcast/platform';
import { LayoutCache } from '../cache/layout-cache';
import { AssignmentStore } from '../persistence/assignment-store';

/** Longest key the route endpoint takes (bytes of UTF-8): keys are ids, not documents. */
export const MAX_ROUTE_KEY_BYTES = 1024;
/** Key tables kept built, by domain (one is ~64 KiB; building one takes a few ms). */
const MAX_CACHED_TABLES = 1024;

export interface RouteAnswer {
  domain: string;
  key: string;
  version: number;
  hostname: string;
  region: string;
  endpoints: RegionEndpoints;
}

/** Translates HTTP to the latest layouts (Redis, PostgreSQL behind it) and the key table; no logic of its own. */
@ApiTags('shards')
@ApiHeader({ name: 'x-api-key', required: true })
@UseGuards(ApiKeyGuard)
@Controller('v1/domains')
export class ShardsApiController {
  private readonly tables = new Map<string, { version: number; map: ShardMap }>();

  constructor(
    private readonly cache: LayoutCache,
    private readonly store: AssignmentStore,
  ) {}

  @Get(':domain/shards')
  @ApiOperation({ summary: "The domain's latest shard layout (shard.assigned.v1's payload); 404 NOT_FOUND when it has none or was released" })
  async shards(@Param('domain') raw: string): Promise<ShardAssigned> {
    return this.layout(parseDomain(raw));
  }

  @Get(':domain/route')
  @ApiOperation({ summary: "The shard a key of the domain maps to (the same answer as the client SDK's shardFor); 409 NO_ACTIVE_SHARD while every shard is warming" })
  @ApiQuery({ name: 'key', required: true, description: `the key (user id, tenant id, session…), at most ${MAX_ROUTE_KEY_BYTES} bytes` })
  async route(@Param('domain') raw: string, @Query('key') key: unknown): Promise<RouteAnswer> {
    const domain = parseDomain(raw);
    if (typeof key !== 'string' || key.length === 0) throw new HttpException({ code: ErrorCodes.REQUEST_INVALID, message: 'the query parameter key is required, once' }, 400);
    if (Buffer.byteLength(key, 'utf8') > MAX_ROUTE_KEY_BYTES) throw new HttpException({ code: ErrorCodes.REQUEST_INVALID, message: `key is longer than ${MAX_ROUTE_KEY_BYTES} bytes` }, 400);
    const layout = await this.layout(domain);
    const hostname = this.table(layout).shardFor(key);
    const shard = layout.shards.find((s) => s.hostname === hostname);
    if (!shard) throw new HttpException({ code: ErrorCodes.NO_ACTIVE_SHARD, message: `${domain} has no active shard yet (version ${layout.version}: every shard is warming)` }, 409);
    return { domain, key, version: layout.version, hostname: shard.hostname, region: shard.region, endpoints: shard.endpoints };
  }

  private async layout(domain: string): Promise<ShardAssigned> {
    let layout = await this.cache.get(domain);
    if (!layout) {
      layout = await this.store.latestLayout(domain);
      if (layout) await this.cache.put(layout);
    }
    if (!layout || layout.shards.length === 0) throw new HttpException({ code: ErrorCodes.NOT_FOUND, message: `${domain} has no shards (never assigned, or released)` }, 404);
    return layout;
  }

  private table(layout: ShardAssigned): ShardMap {
    const held = this.tables.get(layout.domain);
    if (held && held.version === layout.version) return held.map;
    const map = new ShardMap(activeHashLayout(layout.shards, layout.ring));
    this.tables.delete(layout.domain);
    if (this.tables.size >= MAX_CACHED_TABLES) this.tables.delete(this.tables.keys().next().value!);
    this.tables.set(layout.domain, { version: layout.version, map });
    return map;
  }
}

function parseDomain(raw: string): string {
  const checked = normalizeDomain(raw);
  if (!checked.ok) throw new HttpException({ code: ErrorCodes.REQUEST_INVALID, message: `invalid domain: ${checked.reason}` }, 400);
  return checked.domain;
}
