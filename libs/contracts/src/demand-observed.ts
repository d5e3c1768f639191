import { z } from 'zod';
import { envelopeSchema, EventEnvelope } from './envelope';

export const DEMAND_OBSERVED = 'demand.observed';

export const LatencySummarySchema = z.object({
  p50: z.number().nonnegative(),
  p90: z.number().nonnegative(),
  p99: z.number().nonnegative(),
  max: z.number().nonnegative(),
});

/** Demand seen for one (domain, region, bucket). A later revision replaces an earlier one. */
export const DemandObservedSchema = z.object({
  domain: z.string(),
  region: z.string(),
  bucketStart: z.iso.datetime({ offset: true }),
  bucketSeconds: z.number().int().positive(),
  /** 1 for the first publication; +1 each time late data from another partition is merged in. */
  revision: z.number().int().positive(),
  requests: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative().describe('responses with status >= 500'),
  bytes: z.number().nonnegative(),
  latencyMs: LatencySummarySchema,
  /** DDSketch (relative accuracy 1 %) as its standard protobuf (sparse binCounts), base64: merge to get quantiles over buckets. */
  latencySketch: z.string(),
});

export const DemandObservedEventSchema = envelopeSchema(DEMAND_OBSERVED, DemandObservedSchema);
export type DemandObserved = z.infer<typeof DemandObservedSchema>;
export type DemandObservedEvent = EventEnvelope<typeof DEMAND_OBSERVED, DemandObserved>;
