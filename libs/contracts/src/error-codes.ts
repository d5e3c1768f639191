/**
 * Stable error codes, shown verbatim in logs, HTTP 4xx bodies and DLQ headers.
 * Never rename one: users alert and filter on them.
 */
export const ErrorCodes = {
  TELEMETRY_MALFORMED_JSON: 'TELEMETRY_MALFORMED_JSON',
  TELEMETRY_INVALID_RECORD: 'TELEMETRY_INVALID_RECORD',
  TELEMETRY_INVALID_DOMAIN: 'TELEMETRY_INVALID_DOMAIN',
  TELEMETRY_INVALID_LOCATION: 'TELEMETRY_INVALID_LOCATION',
  TELEMETRY_UNKNOWN_POP: 'TELEMETRY_UNKNOWN_POP',
  TELEMETRY_LATE: 'TELEMETRY_LATE',
  TELEMETRY_TOO_FAR_IN_FUTURE: 'TELEMETRY_TOO_FAR_IN_FUTURE',
  TELEMETRY_EMPTY_BATCH: 'TELEMETRY_EMPTY_BATCH',
  TELEMETRY_BATCH_TOO_LARGE: 'TELEMETRY_BATCH_TOO_LARGE',
  EVENT_INVALID: 'EVENT_INVALID',
  EVENT_UNPROCESSABLE: 'EVENT_UNPROCESSABLE',
  CONFIG_INVALID: 'CONFIG_INVALID',
  REQUEST_INVALID: 'REQUEST_INVALID',
  UNAUTHORIZED: 'UNAUTHORIZED',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  REQUEST_TOO_LARGE: 'REQUEST_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  NOT_READY: 'NOT_READY',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  POOL_CAPACITY_EXCEEDED: 'POOL_CAPACITY_EXCEEDED',
  POOL_IN_USE: 'POOL_IN_USE',
  NO_ACTIVE_SHARD: 'NO_ACTIVE_SHARD',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** An error a user can act on: a stable code plus a sentence saying what is wrong. */
export class ShardcastError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ShardcastError';
  }
}

/** Kafka header names on dead-lettered messages. */
export const DeadLetterHeaders = {
  /** One id per (consumer group, source topic, partition, offset, record index): deduplicate on it. */
  deadLetterId: 'x-dead-letter-id',
  /** The consumer group that rejected it: two services may dead-letter the same event of one topic. */
  consumerGroup: 'x-consumer-group',
  errorCode: 'x-error-code',
  errorReason: 'x-error-reason',
  sourceTopic: 'x-source-topic',
  sourcePartition: 'x-source-partition',
  sourceOffset: 'x-source-offset',
  /** Which record of a batch message this dead letter holds; absent when the whole message failed. */
  recordIndex: 'x-record-index',
  failedAt: 'x-failed-at',
} as const;
