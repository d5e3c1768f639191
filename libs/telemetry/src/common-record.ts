import * as contracts from '@shardcast/contracts';
import type { TelemetryRecord } from '@shardcast/contracts';

// Local copies: CommonJS re-exports are getters, too slow to call per record.
const { MAX_EVENT_TIME_MS, MAX_LATENCY_MS, MAX_RECORD_BYTES, normalizeDomain } = contracts;

const domainCache = new Map<string, string | null>();

/** Longer raw names are never valid (253 after normalisation; IDNA input is at most ~4× longer). */
const MAX_CACHED_RAW_LENGTH = 4 * 253;

/**
 * normalizeDomain is pure and telemetry repeats few domains: memoised per raw string, bounded in
 * entries and in entry size (a producer sending long junk names must not grow the cache to GBs).
 */
function cachedDomain(raw: string): string | null {
  let domain = domainCache.get(raw);
  if (domain === undefined) {
    const checked = normalizeDomain(raw);
    domain = checked.ok ? checked.domain : null;
    if (raw.length > MAX_CACHED_RAW_LENGTH) return domain;
    if (domainCache.size >= 100_000) domainCache.clear();
    domainCache.set(raw, domain);
  }
  return domain;
}

/** normalizeDomain's answer for a raw domain (memoised): the normalised name, or null if invalid. */
export const normalizedDomainOf = cachedDomain;

/**
 * True when TelemetryRecordSchema surely accepts these field values of a common record (the
 * domain aside: see normalizedDomainOf) with the same output.
 */
export function commonValuesValid(timestamp: number, lat: number, lon: number, status: number, latencyMs: number, bytes: number): boolean {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > MAX_EVENT_TIME_MS) return false;
  if (!Number.isSafeInteger(status) || status < 100 || status > 599) return false;
  if (!(latencyMs >= 0 && latencyMs <= MAX_LATENCY_MS)) return false;
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_RECORD_BYTES) return false;
  return lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180;
}

/**
 * The common record from its field values, when TelemetryRecordSchema surely accepts them with the
 * same output; undefined sends the message to the schema. Shared by every hot path (the parsed
 * value check and the byte scanners) so they cannot drift apart.
 */
export function commonRecordOf(
  domain: string,
  timestamp: number,
  lat: number,
  lon: number,
  status: number,
  latencyMs: number,
  bytes: number,
): TelemetryRecord | undefined {
  if (!commonValuesValid(timestamp, lat, lon, status, latencyMs, bytes)) return undefined;
  const normalized = cachedDomain(domain);
  if (normalized === null) return undefined;
  return { domain: normalized, timestamp, client: { lat, lon }, status, latencyMs, bytes };
}
