import { z } from 'zod';
import { QuantileLevels, Tiers } from './domain-policy';
import { envelopeSchema, EventEnvelope } from './envelope';
import { DomainFieldSchema, INT32_MAX, PositiveInt32Schema, RegionIdSchema, textField, TimestampSchema } from './fields';
import { RequestCostSchema } from './domain-registered';

export const DEMAND_FORECAST = 'demand.forecast';

/** At most this many steps per event (two weeks at 5 minutes). */
export const MAX_FORECAST_STEPS = 4_032;

const Counts = z.array(z.number().int().nonnegative().max(INT32_MAX)).max(MAX_FORECAST_STEPS);

/** Why this event was published. */
export const ForecastReasons = ['registered', 'moved', 'scheduled', 'requested'] as const;

/**
 * One forecast of one (domain, region), compact (docs/decisions/0019-compact-forecast-events-and-registration.md):
 * step i starts at `startAt + i × stepSeconds`; its demand at quantile q is
 * `requests[q][i] × unit` requests in the step. Resources follow from `requestCost`
 * (`forecastResources`): nothing per step but the counts.
 */
export const DemandForecastSchema = z
  .object({
    kind: z.literal('forecast'),
    domain: DomainFieldSchema,
    region: RegionIdSchema,
    generatedAt: TimestampSchema,
    startAt: TimestampSchema,
    stepSeconds: PositiveInt32Schema,
    steps: z.number().int().positive().max(MAX_FORECAST_STEPS),
    /** Requests per step that one count stands for (a power of ten: the largest count stays below 1,000). */
    unit: z.number().positive().max(1e12),
    /** Demand per step as integer counts of `unit`, one array per quantile, each `steps` long, monotone across levels. */
    requests: z.object({ p05: Counts, p10: Counts, p50: Counts, p90: Counts, p95: Counts, p99: Counts }),
    model: z.object({
      /** The model that produced this forecast (a fallback if the selected one failed; `prior` for a registration's prior). */
      name: textField(64),
      selected: textField(64),
      /** Rolling-origin backtest MASE of the selected model (null: too little history). */
      mase: z.number().nullable(),
      baselineMase: z.number().nullable(),
      selectedAt: TimestampSchema.nullable(),
    }),
    confidence: z.enum(['high', 'low']),
    /** For information only, allocation falls back to its reactive policy: the selected model proved worse than seasonal naive in backtest, or the proactive gate (FORECAST_GATE_DAYS) found that forecasts did not pay on the series. Never set on a prior. */
    forecastOnly: z.boolean(),
    /** How much of the forecast is the registration's prior (1: no data yet; 0: data only). */
    priorWeight: z.number().min(0).max(1),
    tier: z.enum(Tiers),
    /** The tier's quantile (TierPolicy), provisioned with the tier's headroom. */
    provisionQuantile: z.enum(QuantileLevels),
    /** What one request costs (registered, defaulted by app type, refined from telemetry). */
    requestCost: RequestCostSchema.required(),
    reason: z.enum(ForecastReasons),
  })
  .superRefine((f, ctx) => {
    for (const level of QuantileLevels) {
      if (f.requests[level].length !== f.steps) ctx.addIssue({ code: 'custom', path: ['requests', level], message: `must hold ${f.steps} values (steps)` });
    }
    if (QuantileLevels.some((l) => f.requests[l].length !== f.steps)) return;
    for (let i = 0; i < f.steps; i++) {
      for (let k = 1; k < QuantileLevels.length; k++) {
        if (f.requests[QuantileLevels[k]][i] < f.requests[QuantileLevels[k - 1]][i]) {
          ctx.addIssue({ code: 'custom', path: ['requests', QuantileLevels[k], i], message: `must not be below ${QuantileLevels[k - 1]}` });
          return;
        }
      }
    }
  });

/** The domain was deregistered: release its capacity, empty its layout, delete its records. */
export const DomainWithdrawnSchema = z.object({
  kind: z.literal('deregistered'),
  domain: DomainFieldSchema,
  deregisteredAt: TimestampSchema,
  /** The regions it had forecasts in. */
  regions: z.array(RegionIdSchema).max(256),
});

export const DemandForecastPayloadSchema = z.union([DemandForecastSchema, DomainWithdrawnSchema]);

export const DemandForecastEventSchema = envelopeSchema(DEMAND_FORECAST, DemandForecastPayloadSchema);
export type DemandForecast = z.infer<typeof DemandForecastSchema>;
export type DomainWithdrawn = z.infer<typeof DomainWithdrawnSchema>;
export type DemandForecastPayload = z.infer<typeof DemandForecastPayloadSchema>;
export type DemandForecastEvent = EventEnvelope<typeof DEMAND_FORECAST, DemandForecastPayload>;
