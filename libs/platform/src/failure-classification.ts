/**
 * How a consumer reacts to a failure depends on whether trying again can help:
 * - `transient`: the broker or the database is unreachable, overloaded, restarting, or a
 *   transaction lost a race. The same message will succeed later: retry without moving on.
 * - `unprocessable`: this message fails every time (the database refuses its values, a bug in
 *   the handler). Retry a few times (in case the cause was in fact passing), then dead-letter it.
 * Unknown errors count as unprocessable: a dead letter can be replayed, a stalled partition helps nobody.
 */
export type FailureKind = 'transient' | 'unprocessable';

export interface ClassifiedFailure {
  kind: FailureKind;
  /** What went wrong, for logs and the dead letter's reason (the database's own message where there is one). */
  reason: string;
}

/** SQLSTATE classes and codes that say "try again later", not "this input is wrong". */
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '53', '58']); // connection exception, insufficient resources, system error
const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57014', // query_canceled (statement timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up)
  '57P05', // idle_session_timeout
]);

const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/** node-postgres and TypeORM say a connection died in words only. */
const TRANSIENT_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed|the database system is (starting up|shutting down|in recovery mode)/i;

interface ErrorFields {
  code?: unknown;
  retriable?: unknown;
  name?: unknown;
  message?: unknown;
  driverError?: unknown;
  cause?: unknown;
}

export function classifyFailure(err: unknown): ClassifiedFailure {
  const reason = describeFailure(err);
  return { kind: isTransient(err, 0) ? 'transient' : 'unprocessable', reason };
}

function isTransient(err: unknown, depth: number): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const e = err as ErrorFields;
  if (typeof e.code === 'string') {
    if (/^[0-9A-Z]{5}$/.test(e.code)) return TRANSIENT_SQLSTATES.has(e.code) || TRANSIENT_SQLSTATE_CLASSES.has(e.code.slice(0, 2));
    if (TRANSIENT_NODE_CODES.has(e.code)) return true;
  }
  // kafkajs marks what it would retry itself (leader moved, broker unreachable, request timed out).
  if (e.retriable === true) return true;
  if (typeof e.name === 'string' && /^KafkaJS(Connection|RequestTimeout|NumberOfRetriesExceeded|Timeout|BrokerNotFound|LockTimeout)Error$/.test(e.name)) return true;
  if (typeof e.message === 'string' && TRANSIENT_MESSAGES.test(e.message)) return true;
  // TypeORM wraps the driver's error; kafkajs and fetch chain theirs as `cause`.
  return isTransient(e.driverError, depth + 1) || isTransient(e.cause, depth + 1);
}

function describeFailure(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as ErrorFields).code ?? ((err as ErrorFields).driverError as ErrorFields | undefined)?.code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${err.message}`.slice(0, 1000);
  }
  return String(err).slice(0, 1000);
}
