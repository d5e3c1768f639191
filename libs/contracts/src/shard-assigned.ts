import { z } from 'zod';
import { envelopeSchema, EventEnvelope } from './envelope';
import { DomainFieldSchema, PositiveInt32Schema, RegionIdSchema } from './fields';

export const SHARD_ASSIGNED = 'shard.assigned';

/**
 * The latest shard layout of a domain (compacted topic: latest state per domain). Public:
 * outside systems subscribe to it. A domain with no shards left gets an empty `shards` list.
 */
export const ShardAssignedSchema = z.object({
  domain: DomainFieldSchema,
  /** Monotonic per domain; consumers ignore a layout older than the one they have. */
  version: PositiveInt32Schema,
  shards: z.array(
    z.object({
      region: RegionIdSchema,
      hostname: DomainFieldSchema.describe('regional shard host, e.g. us-east-1.app.example.com'),
      weight: z.number().positive(),
      healthy: z.boolean(),
    }),
  ),
  /** Consistent-hash ring parameters so any client maps keys to shards the same way. */
  ring: z.object({ algorithm: z.literal('rendezvous-xxh64'), seed: z.number().int() }),
});

export const ShardAssignedEventSchema = envelopeSchema(SHARD_ASSIGNED, ShardAssignedSchema);
export type ShardAssigned = z.infer<typeof ShardAssignedSchema>;
export type ShardAssignedEvent = EventEnvelope<typeof SHARD_ASSIGNED, ShardAssigned>;
