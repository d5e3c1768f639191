import {
  ErrorCode,
  ErrorCodes,
  MAX_EVENT_TIME_MS,
  MAX_LATENCY_MS,
  MAX_RECORD_BYTES,
  MAX_RECORDS_PER_MESSAGE,
  normalizeDomain,
  TelemetryRecord,
  TelemetryRecordSchema,
} from '@shardcast/contracts';
import type { z } from 'zod';

export interface RecordRejection {
  /** Index inside a batch message; null when the whole message is rejected. */
  index: number | null;
  code: ErrorCode;
  reason: string;
}

export interface DecodedTelemetryMessage {
  records: TelemetryRecord[];
  /** Position of each valid record in its batch (0 for a single-record message). */
  positions: number[];
  /** True when the message was a `{ "records": [...] }` batch. */
  batch: boolean;
  rejections: RecordRejection[];
}

/**
 * Decodes one Kafka message value: a single record or `{ "records": [...] }`. Valid records of a
 * batch are kept even when others in it are rejected: one bad record must not lose the rest.
 */
export function decodeTelemetryMessage(value: Buffer | null): DecodedTelemetryMessage {
  if (value === null || value.length === 0) {
    return reject(ErrorCodes.TELEMETRY_MALFORMED_JSON, 'message has no value');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return reject(ErrorCodes.TELEMETRY_MALFORMED_JSON, `not JSON: ${(error as Error).message}`);
  }
  const common = decodeCommonRecord(parsed);
  if (common) return { records: [common], positions: [0], batch: false, rejections: [] };
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && 'records' in parsed) {
    const records = (parsed as { records: unknown }).records;
    if (!Array.isArray(records)) return reject(ErrorCodes.TELEMETRY_INVALID_RECORD, '"records" must be an array');
    if (records.length === 0) return reject(ErrorCodes.TELEMETRY_EMPTY_BATCH, '"records" is empty');
    if (records.length > MAX_RECORDS_PER_MESSAGE) {
      return reject(ErrorCodes.TELEMETRY_BATCH_TOO_LARGE, `batch has ${records.length} records; at most ${MAX_RECORDS_PER_MESSAGE}`);
    }
    if (Object.keys(parsed).length > 1) return reject(ErrorCodes.TELEMETRY_INVALID_RECORD, 'a batch has only the key "records"');
    const out: DecodedTelemetryMessage = { records: [], positions: [], batch: true, rejections: [] };
    records.forEach((raw, index) => {
      const common = decodeCommonRecord(raw);
      const result = common ? { success: true as const, data: common } : TelemetryRecordSchema.safeParse(raw);
      if (result.success) {
        out.records.push(result.data);
        out.positions.push(index);
      } else out.rejections.push({ index, ...describeIssues(result.error) });
    });
    return out;
  }
  const result = TelemetryRecordSchema.safeParse(parsed);
  if (result.success) return { records: [result.data], positions: [0], batch: false, rejections: [] };
  return { records: [], positions: [], batch: false, rejections: [{ index: null, ...describeIssues(result.error) }] };
}

const domainCache = new Map<string, string | null>();

/** normalizeDomain is pure and telemetry repeats few domains: memoised per raw string (bounded). */
function cachedDomain(raw: string): string | null {
  let domain = domainCache.get(raw);
  if (domain === undefined) {
    const checked = normalizeDomain(raw);
    domain = checked.ok ? checked.domain : null;
    if (domainCache.size >= 100_000) domainCache.clear();
    domainCache.set(raw, domain);
  }
  return domain;
}

/**
 * Hot path: the common shape ({lat, lon} client, epoch-ms timestamp) checked by hand, about 3×
 * cheaper than zod. Returns a record only when TelemetryRecordSchema surely accepts it with the
 * same output (a property test holds it to that); anything else goes to zod, so rejections and
 * their reasons come from the contract schema alone.
 */
export function decodeCommonRecord(p: unknown): TelemetryRecord | undefined {
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
  if (!(latencyMs >= 0 && latencyMs <= MAX_LATENCY_MS)) return undefined;
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_RECORD_BYTES) return undefined;
  if (typeof client !== 'object' || client === null || Array.isArray(client)) return undefined;
  const c = client as Record<string, unknown>;
  let clientKeys = 0;
  for (const k in c) {
    if (k !== 'lat' && k !== 'lon') return undefined;
    clientKeys++;
  }
  const { lat, lon } = c;
  if (clientKeys !== 2 || typeof lat !== 'number' || typeof lon !== 'number' || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180)) return undefined;
  const normalized = cachedDomain(domain);
  if (normalized === null) return undefined;
  return { domain: normalized, timestamp, client: { lat, lon }, status, latencyMs, bytes };
}

function reject(code: ErrorCode, reason: string): DecodedTelemetryMessage {
  return { records: [], positions: [], batch: false, rejections: [{ index: null, code, reason }] };
}

/** The most specific code among the issues, and every issue as `path: message`. */
function describeIssues(error: z.ZodError): { code: ErrorCode; reason: string } {
  let code: ErrorCode = ErrorCodes.TELEMETRY_INVALID_RECORD;
  for (const issue of error.issues) {
    if (issue.path[0] === 'domain') code = ErrorCodes.TELEMETRY_INVALID_DOMAIN;
    else if (issue.path[0] === 'client' && code === ErrorCodes.TELEMETRY_INVALID_RECORD) code = ErrorCodes.TELEMETRY_INVALID_LOCATION;
  }
  const reason = error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(record)'}: ${issue.message}`)
    .join('; ');
  return { code, reason };
}
