import { z } from 'zod';
import { MAX_DOMAIN_LENGTH, normalizeDomain } from './domain-name';

/**
 * Field rules every internal payload shares, so a producer learns from the schema what storage
 * would refuse (a NUL byte, a number past a column's range) instead of stalling a consumer.
 */

/** Region ids: 2–32 lowercase letters, digits and inner hyphens, starting with a letter (`eu-west-1`). */
export const REGION_ID_PATTERN = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
export const MAX_REGION_ID_LENGTH = 32;

/** No control characters (C0, DEL, C1 — NUL among them) and no lone UTF-16 surrogates (not encodable as UTF-8). */
const PRINTABLE = /^[^\p{Cc}\p{Cs}]*$/u;

/** The largest value of a PostgreSQL `integer` column. */
export const INT32_MAX = 2_147_483_647;

/** Text shown to people or stored: printable, at most `max` characters. */
export function textField(max: number) {
  return z.string().max(max).regex(PRINTABLE, 'must not contain control characters or lone surrogates');
}

/** A host name in its normalised form (lowercase A-labels, as ingest stores it): the rule telemetry applies. */
export const DomainFieldSchema = z
  .string()
  .max(MAX_DOMAIN_LENGTH)
  .regex(/^[a-z0-9.-]+$/, 'must be a normalised host name (lowercase A-labels)')
  .refine((value) => {
    const checked = normalizeDomain(value);
    return checked.ok && checked.domain === value;
  }, 'must be a valid, normalised host name (lowercase A-labels, labels ≤ 63, name ≤ 253, not an IP address)');

export const RegionIdSchema = z.string().regex(REGION_ID_PATTERN, 'must be a region id: 2–32 lowercase letters, digits and inner hyphens, starting with a letter');

/** A non-negative count that a PostgreSQL `bigint` holds exactly in JavaScript (≤ 2^53 − 1). */
export const CountSchema = z.number().int().nonnegative();

/** The largest PostgreSQL `bigint` (2^63 − 1), as a decimal string. */
export const BIGINT_MAX_DECIMAL = '9223372036854775807';

/** The largest double a PostgreSQL `bigint` holds (2^63 − 1024; 2^63 − 1 itself rounds up to 2^63). */
export const BIGINT_MAX_DOUBLE = 9223372036854774784;

/**
 * A non-negative integer that a PostgreSQL `bigint` holds, as a double: exact up to 2^53 − 1, and
 * past that the nearest double of an exact total carried beside it as a decimal string.
 */
export const LargeCountSchema = z.number().nonnegative().multipleOf(1).max(BIGINT_MAX_DOUBLE);

/** A non-negative integer that a PostgreSQL `bigint` holds, exactly, in decimal (no sign, no leading zeros). */
export const DecimalCountSchema = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,18})$/, 'must be a non-negative integer in decimal, without leading zeros')
  .refine((value) => value.length < 19 || value <= BIGINT_MAX_DECIMAL, `must be at most ${BIGINT_MAX_DECIMAL} (a PostgreSQL bigint)`);

/** A positive integer that fits a PostgreSQL `integer` column. */
export const PositiveInt32Schema = z.number().int().positive().max(INT32_MAX);

/** An ISO-8601 instant with a zone, from 1970 on (PostgreSQL refuses year 0, and no event predates the epoch). */
export const TimestampSchema = z.iso.datetime({ offset: true }).refine((value) => Date.parse(value) >= 0, 'must not be before 1970-01-01T00:00:00Z');
