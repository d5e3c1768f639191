import fc from 'fast-check';
import { MAX_DOMAIN_LENGTH, MAX_LABEL_LENGTH, normalizeDomain } from './domain-name';

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Every invariant an accepted name must meet, whatever the input was. */
function expectCanonical(domain: string): void {
  expect(domain).toMatch(/^[\x20-\x7e]+$/);
  expect(domain).toBe(domain.toLowerCase());
  expect(domain.length).toBeLessThanOrEqual(MAX_DOMAIN_LENGTH);
  const labels = domain.split('.');
  expect(labels.length).toBeGreaterThanOrEqual(2);
  for (const label of labels) {
    expect(label.length).toBeGreaterThan(0);
    expect(label.length).toBeLessThanOrEqual(MAX_LABEL_LENGTH);
    expect(label).toMatch(LDH_LABEL);
  }
  expect(labels[labels.length - 1]).not.toMatch(/^[0-9]+$/);
}

function checkInvariants(input: unknown): void {
  const first = normalizeDomain(input);
  if (!first.ok) {
    expect(typeof first.reason).toBe('string');
    expect(first.reason.length).toBeGreaterThan(0);
    return;
  }
  expectCanonical(first.domain);
  expect(normalizeDomain(first.domain)).toEqual(first);
}

const label = (n: number, ch = 'a') => ch.repeat(n);

// Pieces that hostile names are made of: DNS edge cases, unicode, controls, separators.
const hostileChar = fc.oneof(
  fc.constantFrom('a', 'Z', '0', '9', '-', '_', '.', '.', '。', '．', ' ', '\t', '\n', '\u0000', '\u001f', '\u007f', '\u00ad', '\u200b', '\u200d', 'ß', 'ü', 'İ', 'σ', 'ς', '\ud800', '\udfff', 'x', 'n', '%', '/', ':', '@', '[', ']'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
);
const hostileLabel = fc.oneof(
  fc.array(hostileChar, { maxLength: 12 }).map((cs) => cs.join('')),
  fc.constantFrom('', '-a', 'a-', '-', 'xn--', 'xn--a', 'xn--bcher-kva', 'bücher', 'BÜCHER', 'EXAMPLE', '_dmarc', 'a_b', '0x7f', '127', '1', label(63), label(64), label(62, 'Ä')),
  fc.integer({ min: 55, max: 70 }).map((n) => label(n, 'b')),
  fc.stringMatching(/^[a-zA-Z0-9-]{1,63}$/),
);
const hostileDomain = fc.oneof(
  fc.array(hostileLabel, { minLength: 1, maxLength: 8 }).map((ls) => ls.join('.')),
  fc.tuple(fc.array(hostileLabel, { minLength: 1, maxLength: 8 }), fc.boolean()).map(([ls, dot]) => ls.join('.') + (dot ? '.' : '')),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.domain(),
  fc.domain().map((d) => d.toUpperCase() + '.'),
  fc.ipV4().map(String),
  fc.ipV6().map((ip) => `[${ip}]`),
  fc.ipV4Extended(),
  // Names around the 253-character limit, with and without the root dot.
  fc.tuple(fc.integer({ min: 248, max: 258 }), fc.boolean()).map(([n, dot]) => longName(n) + (dot ? '.' : '')),
);

/** A name of exactly n characters (n ≥ 3) made of labels of at most 63 characters. */
function longName(n: number): string {
  const labels: string[] = [];
  let remaining = n;
  while (remaining > 63) {
    // Leave at least 2 characters ('.' plus a 1-character label) for the rest.
    const take = Math.min(63, remaining - 2);
    labels.push(label(take, 'c'));
    remaining -= take + 1;
  }
  labels.push(label(remaining, 'd'));
  return labels.join('.');
}

describe('normalizeDomain', () => {
  it.each([
    ['bücher.example', 'xn--bcher-kva.example'],
    ['BÜCHER.Example', 'xn--bcher-kva.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['App.Example.COM', 'app.example.com'],
    ['app.example.com.', 'app.example.com'],
    ['ＡＰＰ．example．com', 'app.example.com'],
    ['a-b.example', 'a-b.example'],
    ['1e100.net', '1e100.net'],
  ])('normalises %j to %j', (input, expected) => {
    expect(normalizeDomain(input)).toEqual({ ok: true, domain: expected });
  });

  it.each([
    ['non-string', 42],
    ['null', null],
    ['empty', ''],
    ['only a dot', '.'],
    ['single label', 'localhost'],
    ['empty label', 'a..example.com'],
    ['two trailing dots', 'example.com..'],
    ['leading dot', '.example.com'],
    ['leading hyphen', '-app.example.com'],
    ['trailing hyphen', 'app-.example.com'],
    ['underscore', '_dmarc.example.com'],
    ['space', 'my app.example.com'],
    ['control char', 'app\u0000.example.com'],
    ['IPv4 literal', '192.168.0.1'],
    ['IPv4 hex literal', '0x7f.0.0.1'],
    ['IPv6 literal', '[::1]'],
    ['numeric TLD', 'a.b.123'],
    ['64-char label', `${label(64)}.example.com`],
    ['lone surrogate', '\ud800.example.com'],
    ['invalid punycode', 'xn--a.example.com'],
  ])('rejects %s', (_name, input) => {
    const result = normalizeDomain(input);
    expect(result.ok).toBe(false);
  });

  it('accepts a 63-character label and rejects 64', () => {
    expect(normalizeDomain(`${label(63)}.example.com`)).toEqual({ ok: true, domain: `${label(63)}.example.com` });
    expect(normalizeDomain(`${label(64)}.example.com`).ok).toBe(false);
  });

  it('accepts 253 characters (plus an optional root dot) and rejects 254', () => {
    const n253 = longName(253);
    const n254 = longName(254);
    expect(n253).toHaveLength(253);
    expect(n254).toHaveLength(254);
    expect(normalizeDomain(n253)).toEqual({ ok: true, domain: n253 });
    expect(normalizeDomain(`${n253}.`)).toEqual({ ok: true, domain: n253 });
    expect(normalizeDomain(n254).ok).toBe(false);
  });

  it('measures the 253 limit on the A-label form, not the unicode input', () => {
    // 'ü' → 'xn--tda' expands a 1-character label to 7 characters.
    const unicode = `${Array.from({ length: 40 }, () => 'ü').join('.')}.example`;
    expect(unicode.length).toBeLessThan(253);
    expect(normalizeDomain(unicode).ok).toBe(false);
  });

  it('property: never throws; an accepted name is lowercase LDH ASCII within DNS limits and idempotent', () => {
    fc.assert(
      fc.property(hostileDomain, (input) => {
        checkInvariants(input);
      }),
      { numRuns: 3000 },
    );
  });

  it('property: never throws on values that are not strings', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(() => normalizeDomain(input)).not.toThrow();
        checkInvariants(input);
      }),
    );
  });

  it('property: valid LDH names differing only in case or a root dot normalise to the same name', () => {
    fc.assert(
      fc.property(fc.domain(), fc.boolean(), (domain, dot) => {
        const base = normalizeDomain(domain);
        const variant = normalizeDomain(domain.toUpperCase() + (dot ? '.' : ''));
        expect(variant).toEqual(base);
      }),
    );
  });
});
