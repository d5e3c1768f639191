import { Body, Controller, Delete, Get, HttpException, Param, Put, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from '@shardcast/platform';
import { ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ErrorCodes, RegionIdSchema } from '@shardcast/contracts';
import { RegionPoolSchema } from '@shardcast/allocation';
import { AllocationLedger, PoolWithCommitted } from '../persistence/allocation-ledger';

/** A pool as PUT takes it: the region comes from the path. */
const PoolBodySchema = RegionPoolSchema.omit({ region: true });

/** Translates HTTP to the ledger's pools; no logic of its own. */
@ApiTags('pools')
@ApiHeader({ name: 'x-api-key', required: true })
@UseGuards(ApiKeyGuard)
@Controller('v1/pools')
export class PoolsApiController {
  constructor(private readonly ledger: AllocationLedger) {}

  @Get()
  @ApiOperation({ summary: 'Every region pool: capacity, provisioning delay, cost, endpoints, and what is committed in it' })
  async list(): Promise<{ pools: PoolWithCommitted[] }> {
    return { pools: await this.ledger.pools() };
  }

  @Get(':region')
  @ApiOperation({ summary: "A region's pool and what is committed in it" })
  async get(@Param('region') raw: string): Promise<PoolWithCommitted> {
    const region = parseRegion(raw);
    const found = await this.ledger.pool(region);
    if (!found) throw new HttpException({ code: ErrorCodes.NOT_FOUND, message: `no pool for ${region}` }, 404);
    return found;
  }

  @Put(':region')
  @ApiOperation({ summary: "Create or replace a region's pool; 409 POOL_CAPACITY_EXCEEDED when its capacity would drop below what is committed" })
  @ApiBody({ schema: z.toJSONSchema(PoolBodySchema, { io: 'input' }) as object })
  async put(@Param('region') raw: string, @Body() body: unknown): Promise<PoolWithCommitted> {
    const region = parseRegion(raw);
    const parsed = PoolBodySchema.safeParse(body);
    if (!parsed.success) {
      throw new HttpException({ code: ErrorCodes.REQUEST_INVALID, message: 'invalid pool', issues: parsed.error.issues.map((i) => `${i.path.join('.') || 'pool'}: ${i.message}`) }, 400);
    }
    if (!(await this.ledger.upsertPool({ region, ...parsed.data }))) {
      const current = await this.ledger.pool(region);
      throw new HttpException({ code: ErrorCodes.POOL_CAPACITY_EXCEEDED, message: `${region}: capacity below what is committed in the pool`, committed: current?.committed }, 409);
    }
    return (await this.ledger.pool(region))!;
  }

  @Delete(':region')
  @ApiOperation({ summary: "Delete a region's pool; 409 POOL_IN_USE while reservations hold it" })
  async delete(@Param('region') raw: string): Promise<{ region: string; deleted: true }> {
    const region = parseRegion(raw);
    const outcome = await this.ledger.deletePool(region);
    if (outcome === 'not-found') throw new HttpException({ code: ErrorCodes.NOT_FOUND, message: `no pool for ${region}` }, 404);
    if (outcome === 'in-use') throw new HttpException({ code: ErrorCodes.POOL_IN_USE, message: `${region}: reservations still hold the pool` }, 409);
    return { region, deleted: true };
  }
}

function parseRegion(raw: string): string {
  const parsed = RegionIdSchema.safeParse(raw);
  if (!parsed.success) throw new HttpException({ code: ErrorCodes.REQUEST_INVALID, message: `invalid region: ${parsed.error.issues[0].message}` }, 400);
  return parsed.data;
}
