import { z } from 'zod';
import { PlatformConfigSchema } from '@shardcast/platform';

export const ShardAssignerConfigSchema = PlatformConfigSchema.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3004),
  SHARD_ASSIGNER_DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lowercase SQL identifier').default('shard_assigner'),
  /** Every Redis key of this deployment starts with it, so tests and tenants can share one Redis. */
  SHARD_ASSIGNER_REDIS_KEY_PREFIX: z.string().default('shardcast:shard-assigner:'),
});

export type ShardAssignerConfig = z.infer<typeof ShardAssignerConfigSchema>;
