import { z } from 'zod';
import { normalizeDomain } from './domain-name';

/** Where the client was. Edges resolve IPs with their own GeoIP data; shardcast never sees IPs. */
export const ClientLocationSchema = z.union([
  z
    .object({
      lat: z.number().min(-90).max(90).describe('client latitude, degrees (WGS84)'),
      lon: z.number().min(-180).max(180).describe('client longitude, degrees (WGS84)'),
    })
    .strict(),
  z
    .object({ pop: z.string().min(1).max(64).describe('edge point-of-presence id, mapped to coordinates by the POPS config') })
    .strict(),
]);

export const DomainNameSchema = z.string().transform((value, ctx) => {
  const checked = normalizeDomain(value);
  if (!checked.ok) {
    ctx.addIssue({ code: 'custom', message: checked.reason, params: { code: 'TELEMETRY_INVALID_DOMAIN' } });
    return z.NEVER;
  }
  return checked.domain;
});

/** Latest instant a JavaScript Date (and so an ISO string) can hold: 9999-12-31T23:59:59.999Z. */
export const MAX_EVENT_TIME_MS = 253_402_300_799_999;

/** Event time: epoch milliseconds or an ISO-8601 string with a zone. */
export const EventTimeSchema = z.union([
  z.number().int().nonnegative().max(MAX_EVENT_TIME_MS),
  z.iso
    .datetime({ offset: true })
    .transform((s) => Date.parse(s))
    .pipe(z.number().int().nonnegative().max(MAX_EVENT_TIME_MS)),
]);

/** Per-record limits, shared with the ingest hot path's hand-written check of the common shape. */
export const MAX_RECORD_BYTES = 1e11;
export const MAX_LATENCY_MS = 3_600_000;

export const TelemetryRecordSchema = z
  .object({
    domain: DomainNameSchema.describe('host name the request was for; normalised to lowercase A-labels'),
    timestamp: EventTimeSchema.describe('when the request was served (event time)'),
    client: ClientLocationSchema,
    status: z.number().int().min(100).max(599).describe('HTTP status code'),
    latencyMs: z.number().nonnegative().max(MAX_LATENCY_MS).describe('time to last byte, milliseconds'),
    bytes: z.number().int().nonnegative().max(MAX_RECORD_BYTES).describe('response bytes sent (at most 100 GB: per-minute sums stay exact)'),
  })
  .strict();

export const MAX_RECORDS_PER_MESSAGE = 10_000;

/** A message carries one record, or a batch of records (edges batch before sending). */
export const TelemetryMessageSchema = z.union([
  TelemetryRecordSchema,
  z.object({ records: z.array(z.unknown()).min(1).max(MAX_RECORDS_PER_MESSAGE) }).strict(),
]);

export type TelemetryRecordInput = z.input<typeof TelemetryRecordSchema>;
export type TelemetryRecord = z.output<typeof TelemetryRecordSchema>;
export type ClientLocation = z.output<typeof ClientLocationSchema>;
