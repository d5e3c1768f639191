import { z } from 'zod';
import { envelopeSchema, EventEnvelope } from './envelope';
import { CountSchema, DomainFieldSchema, PositiveInt32Schema, RegionIdSchema, TimestampSchema } from './fields';

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
  bytes: CountSchema,
  latencyMs: LatencySummarySchema,
  /** DDSketch (relative accuracy 1 %) as its standard protobuf (sparse binCounts), base64: merge to get quantiles over buckets. */
  latencySketch: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64'),
});

export const DemandObservedEventSchema = envelopeSchema(DEMAND_OBSERVED, DemandObservedSchema);
export type DemandObserved = z.infer<typeof DemandObservedSchema>;
export type DemandObservedEvent = EventEnvelope<typeof DEMAND_OBSERVED, DemandObserved>;
