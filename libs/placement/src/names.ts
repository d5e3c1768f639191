import { MAX_DOMAIN_LENGTH, MAX_LABEL_LENGTH, MAX_REGION_SLUG_LENGTH, normalizeDomain } from '@shardcast/contracts';

/** Region id → slug, from configuration; a region not listed uses its id. */
export type RegionSlugs = Readonly<Record<string, string>>;

export type ShardNameErrorCode = 'SLUG_INVALID' | 'SLUG_TOO_LONG' | 'SLUG_DUPLICATE' | 'DOMAIN_INVALID' | 'NAME_TOO_LONG' | 'LABEL_TOO_LONG';

export interface ShardNameError {
  code: ShardNameErrorCode;
  reason: string;
}

export type NameResult = { ok: true; value: string } | { ok: false; error: ShardNameError };

const fail = (code: ShardNameErrorCode, reason: string): NameResult => ({ ok: false, error: { code, reason } });

/** One DNS label: lowercase letters, digits, inner hyphens. */
const SLUG = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Whether a slug is usable: a DNS label of at most MAX_REGION_SLUG_LENGTH characters, and not an IDNA-reserved `??--` label. */
export function checkSlug(slug: string): NameResult {
  if (slug.length === 0) return fail('SLUG_INVALID', 'region slug is empty');
  if (slug.length > MAX_REGION_SLUG_LENGTH) return fail('SLUG_TOO_LONG', `region slug ${JSON.stringify(slug)} is longer than ${MAX_REGION_SLUG_LENGTH} characters`);
  if (!SLUG.test(slug)) return fail('SLUG_INVALID', `region slug ${JSON.stringify(slug)} has characters outside a-z, 0-9 and inner '-'`);
  // '--' in 3rd and 4th place marks an encoded label (xn--…): a slug must not look like one (RFC 5891 §4.2.3.1).
  if (slug.slice(2, 4) === '--') return fail('SLUG_INVALID', `region slug ${JSON.stringify(slug)} has '--' in 3rd and 4th place (reserved for IDNA)`);
  return { ok: true, value: slug };
}

/** The slug of a region: configured, else its id; checked. */
export function regionSlug(region: string, slugs: RegionSlugs = {}): NameResult {
  return checkSlug(Object.prototype.hasOwnProperty.call(slugs, region) ? slugs[region] : region);
}

/** Every problem of a slug configuration for these regions: invalid slugs, and two regions sharing one (their shards would share a name). */
export function checkRegionSlugs(regions: readonly string[], slugs: RegionSlugs = {}): ShardNameError[] {
  const problems: ShardNameError[] = [];
  const owner = new Map<string, string>();
  for (const region of [...new Set(regions)].sort()) {
    const slug = regionSlug(region, slugs);
    if (!slug.ok) {
      problems.push({ code: slug.error.code, reason: `${region}: ${slug.error.reason}` });
      continue;
    }
    const other = owner.get(slug.value);
    if (other !== undefined) problems.push({ code: 'SLUG_DUPLICATE', reason: `${other} and ${region} both have slug ${JSON.stringify(slug.value)}` });
    else owner.set(slug.value, region);
  }
  return problems;
}

/**
 * `<slug>.<domain>`, checked: the slug as `checkSlug`, the domain normalised (IDNA: Unicode labels
 * become `xn--` A-labels, case folds), the name within 253 characters and every label within 63.
 * Never a broken name: anything else is an error.
 */
export function shardHostname(slug: string, domain: string): NameResult {
  const checkedSlug = checkSlug(slug);
  if (!checkedSlug.ok) return checkedSlug;
  const checkedDomain = normalizeDomain(domain);
  if (!checkedDomain.ok) return fail('DOMAIN_INVALID', checkedDomain.reason);
  const hostname = `${slug}.${checkedDomain.domain}`;
  if (hostname.length > MAX_DOMAIN_LENGTH) return fail('NAME_TOO_LONG', `shard name is ${hostname.length} characters, longer than ${MAX_DOMAIN_LENGTH}`);
  // The domain's labels were checked; this re-checks the whole name, as DNS will see it.
  const again = normalizeDomain(hostname);
  if (!again.ok || again.domain !== hostname) {
    const longLabel = hostname.split('.').some((l) => l.length > MAX_LABEL_LENGTH);
    return fail(longLabel ? 'LABEL_TOO_LONG' : 'DOMAIN_INVALID', again.ok ? `shard name ${JSON.stringify(hostname)} is not in normal form` : again.reason);
  }
  return { ok: true, value: hostname };
}

/** The shard name of a region for a domain, with the configured slugs. */
export function shardName(region: string, domain: string, slugs: RegionSlugs = {}): NameResult {
  const slug = regionSlug(region, slugs);
  return slug.ok ? shardHostname(slug.value, domain) : slug;
}
