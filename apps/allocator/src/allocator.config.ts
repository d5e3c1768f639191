import { z } from 'zod';
import { PlatformConfigSchema } from '@shardcast/platform';

export const AllocatorConfigSchema = PlatformConfigSchema.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3003),
  ALLOCATOR_DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lowercase SQL identifier').default('allocator'),
});

export type AllocatorConfig = z.infer<typeof AllocatorConfigSchema>;
