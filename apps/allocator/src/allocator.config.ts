import { resolve } from 'node:path';
import { z } from 'zod';
import { DefaultAllocationPolicy } from '@shardcast/allocation';
import { PlatformConfigSchema } from '@shardcast/platform';

const ROOT = resolve(__dirname, '../../../..');

export const AllocatorConfigSchema = PlatformConfigSchema.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3003),
  ALLOCATOR_DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lowercase SQL identifier').default('allocator'),
  /** API keys accepted in the `x-api-key` header, comma-separated. Unset: the pools API answers 401. */
  ALLOCATOR_API_KEYS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((k) => k.trim()).filter(Boolean)),
  /** Pools upserted at start-up (RegionPoolsFileSchema). Empty: none (pools come from the API only). */
  ALLOCATOR_POOLS_FILE: z.string().default(resolve(ROOT, 'deploy/pools/default.json')),
  /** Every domain is re-decided this often without new events: scale-in, forecasts running out. */
  ALLOCATOR_TICK_INTERVAL_MS: z.coerce.number().int().min(1_000).default(60_000),
  /**
   * Spend no more on a forecast than Σ p50 ÷ this over its horizon (AllocationPolicy.budgetUtilisation,
   * decision 0024); `off`: the tier's quantile and headroom whatever they cost.
   */
  ALLOCATOR_BUDGET_UTILISATION: z
    .union([z.literal('off'), z.coerce.number().gt(0).max(1)])
    .default(DefaultAllocationPolicy.budgetUtilisation ?? 'off')
    .transform((v) => (v === 'off' ? null : v)),
  /**
   * The spend guard (AllocationPolicy.spendCeiling, decision 0038): while an origin has held more
   * than this fraction of what the reactive policy would have on the same observations, its
   * forecasts are provisioned at their median; `off`: no guard (a forecast whose median has lately
   * cost more than 0.93 × the reactive policy is then held on too). At most 1 (even 1 let a trace of
   * bench:proactive cost 1.006× the HPA), and above the stage's band, which it is left below.
   */
  ALLOCATOR_SPEND_CEILING: z
    .union([z.literal('off'), z.coerce.number().gt(DefaultAllocationPolicy.spendHysteresis).max(1)])
    .default(DefaultAllocationPolicy.spendCeiling ?? 'off')
    .transform((v) => (v === 'off' ? null : v)),
  /**
   * A seasonal naive forecast is re-levelled by what demand has lately been against its median
   * (AllocationPolicy.levelCorrectionTimeConstantMs, decision 0039): the time constant in minutes;
   * `off`: every forecast is held as published.
   */
  ALLOCATOR_LEVEL_CORRECTION_MINUTES: z
    .union([z.literal('off'), z.coerce.number().gt(0).max(1440)])
    .default(DefaultAllocationPolicy.levelCorrectionTimeConstantMs === null ? 'off' : DefaultAllocationPolicy.levelCorrectionTimeConstantMs / 60_000)
    .transform((v) => (v === 'off' ? null : v * 60_000)),
  /** A decision refused by the ledger (another instance moved first) is reloaded and taken again at most this often. */
  ALLOCATOR_MAX_CONFLICT_RETRIES: z.coerce.number().int().min(0).max(100).default(5),
  /** Round trips between regions (cloudping's matrix) and the regions' coordinates for the great-circle fallback. */
  ALLOCATOR_LATENCY_FILE: z.string().default(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json')),
  ALLOCATOR_REGIONS_FILE: z.string().default(resolve(ROOT, 'data/regions/awsData.js')),
  /** Where plans are applied: `simulated` (logs them) or `webhook` (POSTs desired capacity per region). */
  ALLOCATOR_POOL_DRIVER: z.enum(['simulated', 'webhook']).default('simulated'),
  ALLOCATOR_WEBHOOK_URL: z.string().url().optional(),
  ALLOCATOR_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(1).default(5_000),
  ALLOCATOR_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  ALLOCATOR_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(0).default(500),
}).refine((c) => c.ALLOCATOR_POOL_DRIVER !== 'webhook' || c.ALLOCATOR_WEBHOOK_URL !== undefined, {
  message: 'ALLOCATOR_WEBHOOK_URL is required when ALLOCATOR_POOL_DRIVER=webhook',
  path: ['ALLOCATOR_WEBHOOK_URL'],
});

export type AllocatorConfig = z.infer<typeof AllocatorConfigSchema>;
