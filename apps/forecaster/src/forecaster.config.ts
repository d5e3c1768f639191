import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { AppTypes, Tiers } from '@shardcast/forecasting';
import { PlatformConfigSchema } from '@shardcast/platform';

const MINUTE = 60_000;

export const ForecasterConfigSchema = PlatformConfigSchema.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  FORECASTER_DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lowercase SQL identifier').default('forecaster'),
  /** API keys accepted in the `x-api-key` header, comma-separated. Unset: the API answers 401. */
  FORECASTER_API_KEYS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((k) => k.trim()).filter(Boolean)),
  /** Forecast step; use 3600000 (1 h) for long horizons. */
  FORECAST_STEP_MS: z.coerce.number().int().min(MINUTE).default(5 * MINUTE),
  FORECAST_HORIZON_HOURS: z.coerce.number().positive().max(24 * 31).default(48),
  /** History read per series: the training window plus room for the backtest's origins. */
  FORECAST_HISTORY_DAYS: z.coerce.number().positive().max(365).default(56),
  /** Re-forecast a series this long after its first new bucket (coalesces bursts). */
  FORECAST_DEBOUNCE_MS: z.coerce.number().int().min(0).default(10_000),
  /** Re-forecast every series on this schedule even without new data. */
  FORECAST_INTERVAL_MS: z.coerce.number().int().min(MINUTE).default(15 * MINUTE),
  /** Model selection (the rolling-origin backtest) is refreshed when older than this. */
  FORECAST_SELECTION_MAX_AGE_MS: z.coerce.number().int().min(MINUTE).default(24 * 60 * MINUTE),
  FORECAST_SELECTION_ORIGINS: z.coerce.number().int().min(1).max(64).default(16),
  /**
   * The proactive gate (docs/decisions/0034-proactive-gate-in-the-selection-job.md): at each model
   * selection, replay the allocation policy on this many days of the series' history against the
   * reactive policy, and publish the series `forecastOnly` where forecasts did not pay. 0: off.
   */
  FORECAST_GATE_DAYS: z.coerce.number().min(0).max(14).default(2),
  /** The provisioning delay the gate's replay assumes (minutes): capacity ordered is up this much later. */
  FORECAST_GATE_DELAY_MINUTES: z.coerce.number().int().min(0).max(240).default(10),
  /** Minutes between the gate replay's re-forecasts (0: FORECAST_INTERVAL_MS's, as the service re-plans; coarser is cheaper). */
  FORECAST_GATE_REPLAN_MINUTES: z.coerce.number().int().min(0).max(1440).default(60),
  /** Gate replays per forecast pass at most (each ~1 s of a worker at the defaults); the other due ones wait for the next passes. */
  FORECAST_GATES_PER_PASS: z.coerce.number().int().min(0).default(8),
  FORECAST_WORKERS: z.coerce.number().int().min(1).max(64).default(availableParallelism()),
  /**
   * Series forecast at once (0: four per worker). A series waits on PostgreSQL about as long as
   * its model runs, so more series than workers keep the workers busy; each holds at most two
   * database connections at a time.
   */
  FORECAST_CONCURRENCY: z.coerce.number().int().min(0).max(256).default(0),
  /**
   * Ingest's read-only contract view (e.g. `ingest.demand_history`) to backfill history from at
   * start-up, for a forecaster deployed after ingest has been running. Empty: off.
   */
  FORECASTER_BACKFILL_VIEW: z
    .string()
    .regex(/^([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)?$/, 'schema.view, lowercase SQL identifiers')
    .default(''),
  /** Days of observed_demand partitions made ahead of the wall clock (docs/decisions/0023-bounded-demand-history.md). */
  FORECASTER_HISTORY_CREATE_AHEAD_DAYS: z.coerce.number().int().min(0).max(31).default(2),
  /** A day of minute buckets becomes hourly rows once it is this many days older than the newest day with data. */
  FORECASTER_HISTORY_ROLLUP_AFTER_DAYS: z.coerce.number().int().min(1).default(7),
  /** Days of history kept (minute or hourly), counted the same way; must exceed the roll-up age and FORECAST_HISTORY_DAYS. */
  FORECASTER_HISTORY_RETAIN_DAYS: z.coerce.number().int().min(2).default(90),
  /** How often the history job runs (it also runs at start-up). */
  FORECASTER_HISTORY_JOB_INTERVAL_MS: z.coerce.number().int().min(1_000).default(3_600_000),
  /**
   * Series that get full per-series model selection: the heaviest by requests over the last day
   * (docs/decisions/0032-forecast-tiers.md); the rest are forecast by the pooled tier. 0: all pooled.
   */
  FORECAST_FULL_TIER_SERIES: z.coerce.number().int().min(0).default(500),
  /** History a pooled-tier series reads: its level and daily shape need a day or two, not the full tier's weeks. */
  FORECAST_POOLED_HISTORY_DAYS: z.coerce.number().positive().max(365).default(7),
  /** Publish a series' forecast when its provisioned quantile moved by more than this share of its peak… */
  FORECAST_PUBLISH_THRESHOLD: z.coerce.number().min(0).max(10).default(0.1),
  /** …or when the last published one is older than this (a re-forecast in between is stored nowhere). */
  FORECAST_PUBLISH_MAX_AGE_MS: z.coerce.number().int().min(0).default(60 * MINUTE),
  /** Regions (the format ingest reads) and country centroids, for a registration's markets. */
  FORECAST_REGIONS_FILE: z.string().default(resolve(__dirname, '../../../../data/regions/awsData.js')),
  FORECAST_COUNTRIES_FILE: z.string().default(resolve(__dirname, '../../../../data/countries/centroids.csv')),
  /** Profile of a domain nobody registered. */
  FORECAST_DEFAULT_APP_TYPE: z.enum(AppTypes).default('api'),
  FORECAST_DEFAULT_TIER: z.enum(Tiers).default('free'),
})
  .refine((c) => c.FORECASTER_HISTORY_RETAIN_DAYS > c.FORECASTER_HISTORY_ROLLUP_AFTER_DAYS, {
    message: 'FORECASTER_HISTORY_RETAIN_DAYS must exceed FORECASTER_HISTORY_ROLLUP_AFTER_DAYS',
    path: ['FORECASTER_HISTORY_RETAIN_DAYS'],
  })
  .refine((c) => c.FORECASTER_HISTORY_RETAIN_DAYS >= c.FORECAST_HISTORY_DAYS, {
    message: 'FORECASTER_HISTORY_RETAIN_DAYS must be at least FORECAST_HISTORY_DAYS (the history a forecast reads)',
    path: ['FORECASTER_HISTORY_RETAIN_DAYS'],
  });

export type ForecasterConfig = z.infer<typeof ForecasterConfigSchema>;

/** Series the scheduler forecasts at once: FORECAST_CONCURRENCY, or four per model worker. */
export function forecastConcurrency(config: Pick<ForecasterConfig, 'FORECAST_CONCURRENCY'>, workers: number): number {
  return config.FORECAST_CONCURRENCY > 0 ? config.FORECAST_CONCURRENCY : 4 * workers;
}
