import { z } from 'zod';
import { CountryCodes } from './country-codes';
import { AccountSizes, AppTypes, MAX_REGION_SLUG_LENGTH, Tiers } from './domain-policy';
import { MAX_DOMAIN_LENGTH } from './domain-name';
import { envelopeSchema, EventEnvelope } from './envelope';
import { DomainFieldSchema, RegionIdSchema, TimestampSchema } from './fields';

export const DOMAIN_REGISTERED = 'domain.registered';

/** A registered domain's shard names are `<slug>.<domain>`: they must fit in 253 characters too. */
export const MAX_REGISTERED_DOMAIN_LENGTH = MAX_DOMAIN_LENGTH - (MAX_REGION_SLUG_LENGTH + 1);

export const MAX_MARKETS = 64;

/** Who the users are: an expected peak, or an account size from which the tier's default derives it. */
export const UserBaseSchema = z.union([
  z.object({ peakRequestsPerSecond: z.number().positive().max(1e9).describe('expected peak requests per second over all regions') }).strict(),
  z.object({ accountSize: z.enum(AccountSizes).describe("the tier's default peak for this size (TierPolicy)") }).strict(),
]);

/** Where the users are: an ISO 3166-1 alpha-2 country (mapped to its nearest region) or a region id, with its share of the demand. */
export const MarketSchema = z.union([
  z.object({ country: z.enum(CountryCodes), share: z.number().positive().max(1) }).strict(),
  z.object({ region: RegionIdSchema, share: z.number().positive().max(1) }).strict(),
]);

export const RequestCostSchema = z
  .object({
    cpuMs: z.number().positive().max(60_000).describe('CPU time per request, ms'),
    memoryMbPerConcurrent: z.number().positive().max(65_536).describe('memory held per request in flight, MB'),
    bytesOut: z.number().nonnegative().max(1e10).describe('response bytes per request'),
    latencyMs: z.number().positive().max(3_600_000).describe('time a request is in flight, ms'),
  })
  .partial()
  .strict();

export const DnsFailurePolicies = ['failover-nearest', 'failover-any', 'static'] as const;

/** The registration itself, without the domain (the API takes the domain from its path). */
export const RegistrationFieldsSchema = z
  .object({
    appType: z.enum(AppTypes),
    tier: z.enum(Tiers),
    userBase: UserBaseSchema,
    /** Absent: the tier's default market mix. Shares are relative and must add up to 1 (± 0.01). */
    markets: z
      .array(MarketSchema)
      .min(1)
      .max(MAX_MARKETS)
      .refine((ms) => Math.abs(ms.reduce((s, m) => s + m.share, 0) - 1) <= 0.01, 'market shares must add up to 1 (± 0.01)')
      .refine((ms) => new Set(ms.map((m) => ('country' in m ? `c:${m.country}` : `r:${m.region}`))).size === ms.length, 'each market may appear once')
      .optional(),
    /** Regional shards wanted (later services; default per tier). */
    shards: z.number().int().min(1).max(16).optional(),
    /** What DNS answers when a region's shard is unhealthy (later services). */
    dnsFailurePolicy: z.enum(DnsFailurePolicies).optional(),
    /** Per-request cost, where known; defaults per application type. */
    requestCost: RequestCostSchema.optional(),
  })
  .strict();

/**
 * `domain.registered.v1` (public, compacted, keyed by domain): the latest registration of a
 * domain. A tombstone (null value) for the key deregisters it.
 */
export const DomainRegisteredSchema = RegistrationFieldsSchema.extend({
  domain: DomainFieldSchema.refine((d) => d.length <= MAX_REGISTERED_DOMAIN_LENGTH, {
    message: `must be at most ${MAX_REGISTERED_DOMAIN_LENGTH} characters: shard names <region-slug>.<domain> need ${MAX_REGION_SLUG_LENGTH + 1} more`,
  }),
  registeredAt: TimestampSchema,
}).strict();

export const DomainRegisteredEventSchema = envelopeSchema(DOMAIN_REGISTERED, DomainRegisteredSchema);
export type DomainRegistration = z.infer<typeof DomainRegisteredSchema>;
export type RegistrationFields = z.infer<typeof RegistrationFieldsSchema>;
export type Market = z.infer<typeof MarketSchema>;
export type UserBase = z.infer<typeof UserBaseSchema>;
export type DomainRegisteredEvent = EventEnvelope<typeof DOMAIN_REGISTERED, DomainRegistration>;
