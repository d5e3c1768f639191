import { z } from 'zod';
import { envelopeSchema, EventEnvelope } from './envelope';
import { DomainFieldSchema, PositiveInt32Schema, RegionIdSchema, TimestampSchema } from './fields';

export const SHARD_HEALTH = 'shard.health';

/** Health of one regional shard over a window, as the monitor saw it. */
export const ShardHealthSchema = z.object({
  domain: DomainFieldSchema,
  region: RegionIdSchema,
  hostname: DomainFieldSchema,
  windowStart: TimestampSchema,
  windowSeconds: PositiveInt32Schema,
  status: z.enum(['healthy', 'degraded', 'down']),
  requestsPerSecond: z.number().nonnegative(),
  errorRate: z.number().min(0).max(1),
  latencyMs: z.object({ p50: z.number().nonnegative(), p99: z.number().nonnegative() }),
  /** Utilisation of the capacity reserved for this shard (>1: over capacity). */
  utilisation: z.number().nonnegative().nullable(),
});

export const ShardHealthEventSchema = envelopeSchema(SHARD_HEALTH, ShardHealthSchema);
export type ShardHealth = z.infer<typeof ShardHealthSchema>;
export type ShardHealthEvent = EventEnvelope<typeof SHARD_HEALTH, ShardHealth>;
