import { readFileSync } from 'node:fs';
import { ErrorCodes, ShardcastError } from '@shardcast/contracts';
import { RegionPool, RegionPoolsFileSchema } from '@shardcast/allocation';
import { Logger } from '@shardcast/platform';
import { AllocationLedger } from '../persistence/allocation-ledger';

/** Reads and validates a pools seed file; a bad one stops the service with every issue, naming the file. */
export function readPoolsFile(path: string): RegionPool[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ShardcastError(ErrorCodes.CONFIG_INVALID, `ALLOCATOR_POOLS_FILE ${path}: ${(err as Error).message}`);
  }
  const parsed = RegionPoolsFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ShardcastError(ErrorCodes.CONFIG_INVALID, `ALLOCATOR_POOLS_FILE ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data.pools;
}

/**
 * Upserts the seed file's pools: the file is the deployment's statement of its pools, applied at
 * every start (a pool changed through the API and not in the file keeps the API's version until
 * the file names it). A pool the file would shrink below what is committed keeps its capacity,
 * with a warning: reservations are never taken away by a restart.
 */
export async function seedPools(ledger: AllocationLedger, pools: readonly RegionPool[], logger: Logger): Promise<void> {
  const refused: string[] = [];
  for (const pool of pools) if (!(await ledger.upsertPool(pool))) refused.push(pool.region);
  if (refused.length > 0) logger.warn({ regions: refused, code: ErrorCodes.POOL_CAPACITY_EXCEEDED }, 'seed pools below what is committed in them: kept their current capacity');
  logger.info({ pools: pools.length - refused.length }, 'pools seeded');
}
