import { hash } from 'node:crypto';
import { z } from 'zod';
import { textField, TimestampSchema } from './fields';

/**
 * Every event carries this envelope. Consumers are idempotent by eventId; correlationId follows
 * one demand change through forecast, plan, assignment and DNS.
 */
export function envelopeSchema<TType extends string, T extends z.ZodTypeAny>(type: TType, payload: T) {
  return z.object({
    eventId: textField(128).min(1),
    type: z.literal(type),
    occurredAt: TimestampSchema,
    producedBy: textField(64).min(1),
    correlationId: textField(128).min(1),
    causationId: textField(128).min(1).nullable(),
    payload,
  });
}

export interface EventEnvelope<TType extends string, TPayload> {
  eventId: string;
  type: TType;
  occurredAt: string;
  producedBy: string;
  correlationId: string;
  causationId: string | null;
  payload: TPayload;
}

/**
 * Deterministic event id (UUID-shaped, SHA-256 based) from the parts that identify the event,
 * so a replay after a crash produces the same id and consumers drop the duplicate.
 */
export function deterministicEventId(...parts: Array<string | number>): string {
  // Length-prefixed so that no two part lists encode alike (['a|b'] vs ['a', 'b'], [] vs ['']).
  const encoded = `${parts.length}#` + parts.map((p) => `${String(p).length}:${String(p)}`).join('');
  const hex = hash('sha256', encoded, 'hex'); // one-shot: half the cost of createHash per id (ingest makes one per closed bucket)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
