import { trace } from '@opentelemetry/api';
import pino, { Logger } from 'pino';

export type { Logger };

/** Structured JSON logs carrying the active trace and span ids, so logs join traces. */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { traceId, spanId };
    },
  });
}
