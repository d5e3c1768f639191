import { z } from 'zod';
import { envelopeSchema, EventEnvelope } from './envelope';
import { DomainFieldSchema, PositiveInt32Schema, RegionIdSchema, textField, TimestampSchema } from './fields';

export const DEMAND_FORECAST = 'demand.forecast';

/** p05–p95 is the 90 % interval, p10–p90 the 80 % one. */
export const QuantileLevels = ['p05', 'p10', 'p50', 'p90', 'p95', 'p99'] as const;
export type QuantileLevel = (typeof QuantileLevels)[number];

const Quantiles = z.object({ p05: z.number(), p10: z.number(), p50: z.number(), p90: z.number(), p95: z.number(), p99: z.number() });

export const ResourceNeedSchema = z.object({
  cpuCores: z.number().nonnegative(),
  memoryGiB: z.number().nonnegative(),
  egressMbps: z.number().nonnegative(),
});

/**
 * One forecast run for one (domain, region), one step size (docs/decisions/0007-forecast-events-per-domain-region.md: one message per region
 * keeps a 48 h horizon under Kafka's 1 MB default).
 */
export const DemandForecastSchema = z.object({
  domain: DomainFieldSchema,
  region: RegionIdSchema,
  generatedAt: TimestampSchema,
  stepSeconds: PositiveInt32Schema,
  /** Requests per step, as quantiles of the predictive distribution. */
  steps: z.array(z.object({ at: TimestampSchema, requests: Quantiles })),
  model: z.object({
    /** The model that produced this forecast (a fallback if the selected one failed). */
    name: textField(64),
    selected: textField(64),
    /** Rolling-origin backtest MASE of the selected model (null: too little history). */
    mase: z.number().nullable(),
    baselineMase: z.number().nullable(),
    selectedAt: TimestampSchema.nullable(),
  }),
  confidence: z.enum(['high', 'low']),
  /** Backtest worse than seasonal naive: published for information, allocation may ignore it. */
  forecastOnly: z.boolean(),
  tier: textField(32),
  provisionQuantile: z.enum(QuantileLevels),
  /** Resource needs per step at the tier's quantile (with headroom) and at each quantile. */
  resources: z.array(
    z.object({
      at: TimestampSchema,
      provisioned: ResourceNeedSchema,
      byQuantile: z.record(z.enum(QuantileLevels), ResourceNeedSchema),
    }),
  ),
});

export const DemandForecastEventSchema = envelopeSchema(DEMAND_FORECAST, DemandForecastSchema);
export type DemandForecast = z.infer<typeof DemandForecastSchema>;
export type DemandForecastEvent = EventEnvelope<typeof DEMAND_FORECAST, DemandForecast>;
