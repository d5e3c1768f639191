/**
 * Candidate change for libs/telemetry/src/telemetry-decoder.ts (measured here, not applied):
 * a hand-written check of the common record shape that accepts only what the zod schema surely
 * accepts and hands everything else to zod, so results and rejection reasons are unchanged; and
 * normalizeDomain memoised per raw string (it is pure; telemetry repeats a few domains).
 */
import { normalizeDomain, TelemetryRecord } from '@shardcast/contracts';
import { decodeTelemetryMessage, DecodedTelemetryMessage } from '@shardcast/telemetry';

/** contracts' MAX_EVENT_TIME_MS (9999-12-31T23:59:59.999Z), the schema's upper bound. */
const MAX_EVENT_TIME_MS = 253_402_300_799_999;

const domainCache = new Map<string, string | null>();
function cachedDomain(raw: string): string | null {
  let d = domainCache.get(raw);
  if (d === undefined) {
    const checked = normalizeDomain(raw);
    d = checked.ok ? checked.domain : null;
    if (domainCache.size >= 100_000) domainCache.clear();
    domainCache.set(raw, d);
  }
  return d;
}

/** The record if it certainly passes TelemetryRecordSchema (same output), else undefined. */
export function fastRecord(p: unknown): TelemetryRecord | undefined {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return undefined;
  const o = p as Record<string, unknown>;
  let keys = 0;
  for (const k in o) {
    if (k !== 'domain' && k !== 'timestamp' && k !== 'client' && k !== 'status' && k !== 'latencyMs' && k !== 'bytes') return undefined;
    keys++;
  }
  if (keys !== 6) return undefined;
  const { domain, timestamp, client, status, latencyMs, bytes } = o;
  if (typeof domain !== 'string' || typeof timestamp !== 'number' || typeof status !== 'number' || typeof latencyMs !== 'number' || typeof bytes !== 'number') return undefined;
  if (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > MAX_EVENT_TIME_MS) return undefined;
  if (!Number.isSafeInteger(status) || status < 100 || status > 599) return undefined;
  if (!(latencyMs >= 0 && latencyMs <= 3_600_000)) return undefined;
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > 1e13) return undefined;
  if (typeof client !== 'object' || client === null || Array.isArray(client)) return undefined;
  const c = client as Record<string, unknown>;
  let ck = 0;
  for (const k in c) {
    if (k !== 'lat' && k !== 'lon') return undefined;
    ck++;
  }
  const { lat, lon } = c;
  if (ck !== 2 || typeof lat !== 'number' || typeof lon !== 'number' || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180)) return undefined;
  const d = cachedDomain(domain);
  if (d === null) return undefined;
  return { domain: d, timestamp, client: { lat, lon }, status, latencyMs, bytes };
}

export function fastDecodeTelemetryMessage(value: Buffer | null): DecodedTelemetryMessage {
  if (value === null || value.length === 0) return decodeTelemetryMessage(value);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return decodeTelemetryMessage(value);
  }
  const record = fastRecord(parsed);
  if (record) return { records: [record], positions: [0], batch: false, rejections: [] };
  // Batches, pop locations, ISO timestamps and every invalid record: the existing path.
  return decodeTelemetryMessage(value);
}
