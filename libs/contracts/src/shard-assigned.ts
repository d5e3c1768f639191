import { z } from 'zod';
import { RegionEndpointsSchema } from './capacity-plan';
import { envelopeSchema, EventEnvelope } from './envelope';
import { DomainFieldSchema, PositiveInt32Schema, RegionIdSchema, textField } from './fields';

export const SHARD_ASSIGNED = 'shard.assigned';

/** A shard's lifecycle, the assigner's own (health is `shard.health.v1`'s, joined by hostname: decision 0012). */
export const ShardStates = ['warming', 'active', 'draining'] as const;

/** The key → shard algorithm (docs/contracts/hashing.md, decision 0028) and its bounds. */
export const SHARD_HASH_ALGORITHM = 'bounded-rendezvous-table-xxh32';
export const MAX_LAYOUT_SHARDS = 255;
export const MAX_SHARD_WEIGHT = 10_000;

const FractionSchema = z.number().min(0).max(1);

/** Which fraction of the key space goes from which shard to which (by hostname; a shard that left may appear in `from`). */
const MovementSchema = z.object({
  /** The layout version the keys move from (null: the first layout, nothing moves). */
  fromVersion: PositiveInt32Schema.nullable(),
  /** Fraction of all keys whose shard changes: the sum of the flows. */
  moved: FractionSchema,
  /** True when computed slot by slot (same seed); false for the independence estimate. */
  exact: z.boolean(),
  flows: z.array(z.object({ from: DomainFieldSchema, to: DomainFieldSchema, fraction: FractionSchema })).max(MAX_LAYOUT_SHARDS * MAX_LAYOUT_SHARDS),
});

/**
 * The latest shard layout of a domain (compacted topic: latest state per domain). Public: outside
 * systems subscribe to it, and a client maps keys to shards from it alone: the key table is built
 * from the `active` shards with their weights and the ring's parameters (docs/contracts/hashing.md).
 * A `warming` shard is placed but gets no keys and no DNS yet; a `draining` one still serves until
 * its keys have moved. A deregistered domain gets an empty `shards` list, then a tombstone.
 * Changed in place once, before anything produced it (decision 0029).
 */
export const ShardAssignedSchema = z
  .object({
    domain: DomainFieldSchema,
    /** Monotonic per domain; consumers ignore a layout older than the one they have. */
    version: PositiveInt32Schema,
    shards: z
      .array(
        z.object({
          region: RegionIdSchema,
          hostname: DomainFieldSchema.describe('regional shard host, e.g. us-east-1.app.example.com'),
          state: z.enum(ShardStates),
          /** Reserved capacity, quantised so keys do not move on every plan (integer, 1..10,000). */
          weight: z.number().int().min(1).max(MAX_SHARD_WEIGHT),
          /** Where the shard is reached (from the region's pool): dns-publisher needs nothing else. */
          endpoints: RegionEndpointsSchema,
        }),
      )
      .max(MAX_LAYOUT_SHARDS),
    /** Parameters of the key table, so any client maps keys to shards the same way. */
    ring: z.object({
      algorithm: z.literal(SHARD_HASH_ALGORITHM),
      seed: z.number().int().min(0).max(0xffffffff),
      tableBits: z.number().int().min(8).max(20),
      /** ε in thousandths: no shard holds more than ceil((1 + ε) × its weighted share) of the table. */
      loadBoundPermille: z.number().int().min(1).max(1000),
    }),
    /** How keys moved from the previous version's table to this one's. */
    movement: MovementSchema,
    /** How keys will move when the warming shards become active (null: none warming): copy data ahead. */
    pendingMovement: MovementSchema.nullable(),
    /** The capacity plan this layout follows (causation; null for a deregistration's empty layout). */
    source: z.object({ planId: textField(128), planVersion: PositiveInt32Schema }).nullable(),
  })
  .superRefine((layout, ctx) => {
    const seen = new Set<string>();
    layout.shards.forEach((s, i) => {
      if (seen.has(s.hostname)) ctx.addIssue({ code: 'custom', path: ['shards', i, 'hostname'], message: 'hostnames must be unique' });
      seen.add(s.hostname);
    });
  });

export const ShardAssignedEventSchema = envelopeSchema(SHARD_ASSIGNED, ShardAssignedSchema);
export type ShardAssigned = z.infer<typeof ShardAssignedSchema>;
export type ShardState = (typeof ShardStates)[number];
export type ShardAssignedEvent = EventEnvelope<typeof SHARD_ASSIGNED, ShardAssigned>;
