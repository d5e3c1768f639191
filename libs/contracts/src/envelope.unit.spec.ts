import fc from 'fast-check';
import { z } from 'zod';
import { deterministicEventId, envelopeSchema } from './envelope';

const UUID_V5_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// Any string, including the control characters a naive separator would use.
const part = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('', '\u001f', 'a\u001fb', '\u0000', 'demand.observed'));
const parts = fc.array(part, { maxLength: 5 });

describe('deterministicEventId', () => {
  it('property: is UUID-shaped (version 5 nibble, RFC 4122 variant)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(part, fc.integer(), fc.double({ noNaN: true })), { maxLength: 5 }), (ps) => {
        expect(deterministicEventId(...ps)).toMatch(UUID_V5_SHAPE);
      }),
    );
  });

  it('property: the same parts give the same id', () => {
    fc.assert(
      fc.property(parts, (ps) => {
        expect(deterministicEventId(...ps)).toBe(deterministicEventId(...[...ps]));
      }),
    );
  });

  it('separates events that differ only in one part (the bucket of a demand.observed event)', () => {
    const id = deterministicEventId('demand.observed', 'app.example.com', 'eu-central-1', 1_700_000_000_000);
    expect(id).toMatch(UUID_V5_SHAPE);
    expect(deterministicEventId('demand.observed', 'app.example.com', 'eu-central-1', 1_700_000_000_000)).toBe(id);
    expect(deterministicEventId('demand.observed', 'app.example.com', 'eu-central-1', 1_700_000_060_000)).not.toBe(id);
  });

  it('property: different part lists give different ids', () => {
    fc.assert(
      fc.property(parts, parts, (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        expect(deterministicEventId(...a)).not.toBe(deterministicEventId(...b));
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['a part containing the separator vs two parts', ['a\u001fb'], ['a', 'b']],
    ['no parts vs one empty part', [], ['']],
    ['trailing empty part', ['a'], ['a', '']],
  ])('does not collide: %s', (_name, a, b) => {
    expect(deterministicEventId(...a)).not.toBe(deterministicEventId(...b));
  });
});

describe('envelopeSchema', () => {
  const schema = envelopeSchema('demo.happened', z.object({ n: z.number() }));
  const valid = {
    eventId: deterministicEventId('x'),
    type: 'demo.happened',
    occurredAt: '2026-11-25T13:00:00.000Z',
    producedBy: 'ingest',
    correlationId: 'c-1',
    causationId: null,
    payload: { n: 1 },
  };

  it('accepts a complete envelope', () => {
    expect(schema.safeParse(valid).success).toBe(true);
    expect(schema.safeParse({ ...valid, occurredAt: '2026-11-25T14:00:00+01:00', causationId: 'e-0' }).success).toBe(true);
  });

  it.each([
    ['wrong type', { type: 'other.happened' }],
    ['empty eventId', { eventId: '' }],
    ['occurredAt without zone', { occurredAt: '2026-11-25T13:00:00' }],
    ['missing causationId', { causationId: undefined }],
    ['invalid payload', { payload: { n: 'one' } }],
    ['producedBy too long', { producedBy: 'p'.repeat(65) }],
  ])('rejects %s', (_name, patch) => {
    expect(schema.safeParse({ ...valid, ...patch }).success).toBe(false);
  });
});
