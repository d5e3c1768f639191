import { ErrorCode, ErrorCodes, MAX_RECORDS_PER_MESSAGE, TelemetryRecord, TelemetryRecordSchema } from '@shardcast/contracts';
import { commonRecordOf } from './common-record';
import { scanTelemetryMessage } from './telemetry-scanner';
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
  positions: readonly number[];
  /** True when the message was a `{ "records": [...] }` batch. */
  batch: boolean;
  rejections: RecordRejection[];
}

/**
 * Decodes one Kafka message value (`value[start, end)`: a packed batch holds many values in one
 * buffer): a single record or `{ "records": [...] }`. Valid records of a
 * batch are kept even when others in it are rejected: one bad record must not lose the rest.
 */
export function decodeTelemetryMessage(value: Buffer | null, start = 0, end = value === null ? 0 : value.length): DecodedTelemetryMessage {
  const scanned = value === null ? undefined : scanTelemetryMessage(value, start, end);
  if (scanned) {
    if (!scanned.batch) return { records: scanned.records, positions: SINGLE_POSITION, batch: false, rejections: [] };
    return { records: scanned.records, positions: scanned.records.map((_, i) => i), batch: true, rejections: [] };
  }
  return decodeTelemetryMessageSlowly(value === null || (start === 0 && end === value.length) ? value : value.subarray(start, end));
}

const SINGLE_POSITION: readonly number[] = Object.freeze([0]);

/** JSON.parse + the contract schema: the reference the byte scanner is held to, and every rejection. */
export function decodeTelemetryMessageSlowly(value: Buffer | null): DecodedTelemetryMessage {
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
    const positions: number[] = [];
    const out: DecodedTelemetryMessage = { records: [], positions, batch: true, rejections: [] };
    records.forEach((raw, index) => {
      const common = decodeCommonRecord(raw);
      const result = common ? { success: true as const, data: common } : TelemetryRecordSchema.safeParse(raw);
      if (result.success) {
        out.records.push(result.data);
        positions.push(index);
      } else out.rejections.push({ index, ...describeIssues(result.error) });
    });
    return out;
  }
  const result = TelemetryRecordSchema.safeParse(parsed);
  if (result.success) return { records: [result.data], positions: [0], batch: false, rejections: [] };
  return { records: [], positions: [], batch: false, rejections: [{ index: null, ...describeIssues(result.error) }] };
}

/**
 * Hot path: the common shape ({lat, lon} client, epoch-ms timestamp) of an already parsed value,
 * checked by hand. Returns a record only when TelemetryRecordSchema surely accepts it with the
 * same output (a property test holds it to that); anything else goes to zod.
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
  if (typeof client !== 'object' || client === null || Array.isArray(client)) return undefined;
  const c = client as Record<string, unknown>;
  let clientKeys = 0;
  for (const k in c) {
    if (k !== 'lat' && k !== 'lon') return undefined;
    clientKeys++;
  }
  const { lat, lon } = c;
  if (clientKeys !== 2 || typeof lat !== 'number' || typeof lon !== 'number') return undefined;
  return commonRecordOf(domain, timestamp, lat, lon, status, latencyMs, bytes);
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
