import { generateTelemetry } from './telemetry-fixture';

const countsByDomain = (domains: string[]) => {
  const counts = new Map<string, number>();
  for (const d of domains) counts.set(d, (counts.get(d) ?? 0) + 1);
  return counts;
};

describe('generateTelemetry domain draws', () => {
  it('draws domains uniformly by default, as before (the same seed gives the same records)', () => {
    const records = generateTelemetry(60_000, { domains: 12, seed: 7 });
    const counts = countsByDomain(records.map((r) => r.domain));
    expect(counts.size).toBe(12);
    for (const n of counts.values()) expect(Math.abs(n - 5_000)).toBeLessThan(400);
    expect(generateTelemetry(3, { domains: 12, seed: 7 })).toEqual(records.slice(0, 3));
  });

  it('with zipfS = 1 draws rank r about 1/r as often as rank 1, over every rank', () => {
    const domains = 1_000;
    const records = generateTelemetry(200_000, { domains, seed: 3, zipfS: 1 });
    const counts = countsByDomain(records.map((r) => r.domain));
    let harmonic = 0;
    for (let r = 1; r <= domains; r++) harmonic += 1 / r;
    const expected = (rank: number) => 200_000 / (rank * harmonic);
    for (const rank of [1, 2, 10]) {
      const n = counts.get(`app${rank - 1}.example.com`) ?? 0;
      expect(Math.abs(n - expected(rank)) / expected(rank)).toBeLessThan(0.05);
    }
    // The tail: ranks 501–1000 together get ln(2)/H of the records.
    let tail = 0;
    for (let r = 501; r <= domains; r++) tail += counts.get(`app${r - 1}.example.com`) ?? 0;
    expect(Math.abs(tail / 200_000 - Math.log(2) / harmonic)).toBeLessThan(0.01);
    expect(counts.has(`app${domains - 1}.example.com`)).toBe(true);
    expect(counts.has(`app${domains}.example.com`)).toBe(false);
  });
});
