import { resolve } from 'node:path';
import { z } from 'zod';
import { Tiers } from '@shardcast/contracts';
import { PlatformConfigSchema } from '@shardcast/platform';

const ROOT = resolve(__dirname, '../../../..');

/** `key=value,key=value` into a record (empty: none). */
const pairs = (what: string) =>
  z
    .string()
    .default('')
    .transform((s, ctx) => {
      const out: Record<string, string> = {};
      for (const item of s.split(',').map((x) => x.trim()).filter(Boolean)) {
        const [k, v, ...rest] = item.split('=').map((x) => x.trim());
        if (!k || !v || rest.length > 0) {
          ctx.addIssue({ code: 'custom', message: `${what}: ${JSON.stringify(item)} is not key=value` });
          return z.NEVER;
        }
        out[k] = v;
      }
      return out;
    });

export const ShardAssignerConfigSchema = PlatformConfigSchema.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3004),
  SHARD_ASSIGNER_DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lowercase SQL identifier').default('shard_assigner'),
  /** Every Redis key of this deployment starts with it, so tests and tenants can share one Redis. */
  SHARD_ASSIGNER_REDIS_KEY_PREFIX: z.string().default('shardcast:shard-assigner:'),
  /** API keys accepted in the `x-api-key` header, comma-separated. Unset: the API answers 401. */
  SHARD_ASSIGNER_API_KEYS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((k) => k.trim()).filter(Boolean)),
  /** Region id → shard name slug (`us-east-1=us-east,eu-west-1=eu-west`); a region not listed uses its id. */
  SHARD_ASSIGNER_REGION_SLUGS: pairs('SHARD_ASSIGNER_REGION_SLUGS'),
  /** Shards per domain by tier (`free=1,pro=3,enterprise=5`); a tier not listed keeps its default. */
  SHARD_ASSIGNER_SHARD_COUNTS: pairs('SHARD_ASSIGNER_SHARD_COUNTS').pipe(
    z.record(z.string(), z.string().regex(/^[0-9]{1,2}$/, 'a shard count 0..99').transform(Number)).refine((r) => Object.keys(r).every((t) => (Tiers as readonly string[]).includes(t)), `tiers are ${Tiers.join(', ')}`),
  ),
  /** A new shard is `warming` this long (its capacity coming up: the pools' provisioning delay). */
  SHARD_ASSIGNER_WARMUP_MS: z.coerce.number().int().min(0).default(10 * 60_000),
  /** A removed shard stays `draining` (still served while its keys move) this long. */
  SHARD_ASSIGNER_DRAIN_MS: z.coerce.number().int().min(0).default(30 * 60_000),
  /** A better region replaces a member only after beating it by the margin for this long. */
  SHARD_ASSIGNER_DWELL_MS: z.coerce.number().int().min(0).default(15 * 60_000),
  SHARD_ASSIGNER_MARGIN: z.coerce.number().min(0).max(10).default(0.2),
  /** Every domain is re-decided this often without new plans: warm-ups and drains end, challengers win. */
  SHARD_ASSIGNER_TICK_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  /** A decision refused by the store (another instance moved first) is reloaded and taken again at most this often. */
  SHARD_ASSIGNER_MAX_CONFLICT_RETRIES: z.coerce.number().int().min(0).max(100).default(5),
  /** Round trips between regions (cloudping's matrix) and the regions' coordinates for the great-circle fallback. */
  SHARD_ASSIGNER_LATENCY_FILE: z.string().default(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json')),
  SHARD_ASSIGNER_REGIONS_FILE: z.string().default(resolve(ROOT, 'data/regions/awsData.js')),
});

export type ShardAssignerConfig = z.infer<typeof ShardAssignerConfigSchema>;
