import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Every event carries this envelope. Consumers are idempotent by eventId; correlationId follows
 * one demand change through forecast, plan, assignment and DNS.
 */
export function envelopeSchema<T extends z.ZodTypeAny>(type: string, payload: T) {
  return z.object({
    eventId: z.string().min(1).max(128),
    type: z.literal(type),
    occurredAt: z.iso.datetime({ offset: true }),
    producedBy: z.string().min(1).max(64),
    correlationId: z.string().min(1).max(128),
    causationId: z.string().min(1).max(128).nullable(),
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
  const hex = createHash('sha256').update(parts.join('\u001f')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
