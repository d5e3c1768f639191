import fc from 'fast-check';
import { MAX_DOMAIN_LENGTH, MAX_REGION_SLUG_LENGTH, MAX_REGISTERED_DOMAIN_LENGTH, normalizeDomain } from '@shardcast/contracts';
import { checkRegionSlugs, checkSlug, regionSlug, shardHostname, shardName } from './names';

/** A valid domain of exactly `length` characters: labels of up to 63 'a's, ending in `.com`. */
function domainOfLength(length: number): string {
  const labels: string[] = [];
  let left = length - '.com'.length;
  while (left > 63) {
    // A label and its dot; never leave nothing after the dot.
    const take = left - 64 >= 1 ? 63 : 61;
    labels.push('a'.repeat(take));
    left -= take + 1;
  }
  labels.push('a'.repeat(left));
  const domain = `${labels.join('.')}.com`;
  expect(domain.length).toBe(length);
  return domain;
}

describe('region slugs', () => {
  it('defaults to the region id and takes configured slugs', () => {
    expect(regionSlug('us-east-1')).toEqual({ ok: true, value: 'us-east-1' });
    expect(regionSlug('us-east-1', { 'us-east-1': 'us-east' })).toEqual({ ok: true, value: 'us-east' });
  });

  it(`refuses a slug at ${MAX_REGION_SLUG_LENGTH + 1} characters and takes one at ${MAX_REGION_SLUG_LENGTH}`, () => {
    expect(checkSlug('s'.repeat(MAX_REGION_SLUG_LENGTH)).ok).toBe(true);
    const refused = checkSlug('s'.repeat(MAX_REGION_SLUG_LENGTH + 1));
    expect(refused.ok === false && refused.error.code).toBe('SLUG_TOO_LONG');
    // A region id longer than the limit needs a configured slug.
    expect(regionSlug('ap-southeast-somewhere-7').ok).toBe(false);
    expect(regionSlug('ap-southeast-somewhere-7', { 'ap-southeast-somewhere-7': 'apse7' }).ok).toBe(true);
  });

  it.each(['', 'US-EAST', 'us_east', '-us', 'us-', 'us.east', 'xn--abc', 'ab--c', 'ü'])('refuses %j', (slug) => {
    expect(checkSlug(slug).ok).toBe(false);
  });

  it('reports two regions sharing a slug, and invalid ones', () => {
    const problems = checkRegionSlugs(['us-east-1', 'us-east-2', 'eu-west-1'], { 'us-east-1': 'us-east', 'us-east-2': 'us-east', 'eu-west-1': 'EU' });
    expect(problems.map((p) => p.code).sort()).toEqual(['SLUG_DUPLICATE', 'SLUG_INVALID']);
    expect(checkRegionSlugs(['us-east-1', 'us-east-2'], { 'us-east-1': 'us-east-2' }).map((p) => p.code)).toEqual(['SLUG_DUPLICATE']);
    expect(checkRegionSlugs(['us-east-1', 'eu-west-1'])).toEqual([]);
  });
});

describe('shardHostname', () => {
  it('names a shard <slug>.<domain>', () => {
    expect(shardHostname('us-east', 'app.example.com')).toEqual({ ok: true, value: 'us-east.app.example.com' });
    expect(shardName('eu-west-1', 'app.example.com')).toEqual({ ok: true, value: 'eu-west-1.app.example.com' });
  });

  it('passes IDNA domains as ASCII xn-- labels (and normalises case)', () => {
    expect(shardHostname('eu', 'xn--bcher-kva.example')).toEqual({ ok: true, value: 'eu.xn--bcher-kva.example' });
    expect(shardHostname('eu', 'Bücher.Example')).toEqual({ ok: true, value: 'eu.xn--bcher-kva.example' });
  });

  it(`takes a name of exactly ${MAX_DOMAIN_LENGTH} characters and refuses ${MAX_DOMAIN_LENGTH + 1}`, () => {
    const slug = 's'.repeat(MAX_REGION_SLUG_LENGTH);
    // The longest domain registration accepts fits the longest slug exactly.
    const longest = domainOfLength(MAX_REGISTERED_DOMAIN_LENGTH);
    const fits = shardHostname(slug, longest);
    expect(fits.ok && fits.value.length).toBe(MAX_DOMAIN_LENGTH);
    const over = shardHostname(slug, domainOfLength(MAX_REGISTERED_DOMAIN_LENGTH + 1));
    expect(over.ok === false && over.error.code).toBe('NAME_TOO_LONG');
    expect(shardHostname('s'.repeat(MAX_REGION_SLUG_LENGTH - 1), domainOfLength(MAX_REGISTERED_DOMAIN_LENGTH + 1)).ok).toBe(true);
  });

  it('refuses an invalid domain or slug', () => {
    for (const domain of ['', 'localhost', '192.0.2.1', 'a..b.com', `${'a'.repeat(64)}.com`, 'under_score.com']) {
      const r = shardHostname('eu', domain);
      expect(r.ok === false && r.error.code).toBe('DOMAIN_INVALID');
    }
    expect(shardHostname('EU', 'app.example.com').ok).toBe(false);
  });

  it('never returns a broken name (property)', () => {
    const label = fc.stringMatching(/^[a-zA-Z0-9-]{0,70}$/);
    fc.assert(
      fc.property(fc.string({ maxLength: 25 }), fc.array(label, { minLength: 1, maxLength: 6 }), (slug, labels) => {
        const r = shardHostname(slug, labels.join('.'));
        if (!r.ok) return;
        const again = normalizeDomain(r.value);
        expect(again.ok && again.domain).toBe(r.value);
        expect(r.value.length).toBeLessThanOrEqual(MAX_DOMAIN_LENGTH);
        expect(r.value.startsWith(`${slug}.`)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
