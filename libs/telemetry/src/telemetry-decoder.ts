import {
  ErrorCode,
  ErrorCodes,
  MAX_RECORDS_PER_MESSAGE,
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
      const result = TelemetryRecordSchema.safeParse(raw);
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
