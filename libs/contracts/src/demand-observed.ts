import { z } from 'zod';
import { deterministicEventId, envelopeSchema, EventEnvelope } from './envelope';
import { CountSchema, DecimalCountSchema, DomainFieldSchema, LargeCountSchema, PositiveInt32Schema, RegionIdSchema, TimestampSchema } from './fields';

export const DEMAND_OBSERVED = 'demand.observed';

export const LatencySummarySchema = z.object({
  p50: z.number().nonnegative(),
  p90: z.number().nonnegative(),
  p99: z.number().nonnegative(),
  max: z.number().nonnegative(),
});

/** Demand seen for one (domain, region, bucket). A later revision replaces an earlier one. */
export const DemandObservedSchema = z.object({
  domain: DomainFieldSchema,
  region: RegionIdSchema,
  bucketStart: TimestampSchema,
  bucketSeconds: PositiveInt32Schema,
  /** 1 for the first publication; +1 each time late data from another partition is merged in. */
  revision: PositiveInt32Schema,
  requests: CountSchema,
  errors: CountSchema.describe('responses with status >= 500'),
  bytes: LargeCountSchema.describe('response bytes: exact up to 2^53 − 1 (9007199254740991); past that the nearest double, and bytesExact holds the exact total'),
  bytesExact: DecimalCountSchema.optional().describe(
    'the exact byte total in decimal (ingest always writes it; a sum of 100,000 records of 100 GB passes 2^53): read it when present, else bytes',
  ),
  latencyMs: LatencySummarySchema,
  /** DDSketch (relative accuracy 1 %) as its standard protobuf (sparse binCounts), base64: merge to get quantiles over buckets. */
  latencySketch: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64'),
});

export const DemandObservedEventSchema = envelopeSchema(DEMAND_OBSERVED, DemandObservedSchema);
export type DemandObserved = z.infer<typeof DemandObservedSchema>;
export type DemandObservedEvent = EventEnvelope<typeof DEMAND_OBSERVED, DemandObserved>;

/**
 * The id of a bucket revision's `demand.observed.v1` event: a function of domain, region, bucket
 * and revision, so a replay publishes the same id, and a consumer of v2 (many buckets per event)
 * records each bucket under the id its v1 event has.
 */
export function observedBucketEventId(bucket: Pick<DemandObserved, 'domain' | 'region' | 'bucketStart' | 'revision'>): string {
  return deterministicEventId(DEMAND_OBSERVED, bucket.domain, bucket.region, bucket.bucketStart, bucket.revision);
}
