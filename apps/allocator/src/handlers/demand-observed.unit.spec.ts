import { DemandObserved } from '@shardcast/contracts';
import { DefaultAllocationPolicy } from '@shardcast/allocation';
import { actionableBuckets } from './demand-observed.handler';

const NOW = Date.parse('2026-12-03T10:00:00Z');
const bucket = (domain: string, region: string, minutesAgo: number, requests: number, revision = 1): DemandObserved => ({
  domain,
  region,
  bucketStart: new Date(NOW - (minutesAgo + 1) * 60_000).toISOString(),
  bucketSeconds: 60,
  revision,
  requests,
  errors: 0,
  bytes: 0,
  latencyMs: { p50: 1, p90: 1, p99: 1, max: 1 },
  latencySketch: '',
});

describe('actionableBuckets (the reactive net on demand.observed.v2)', () => {
  it('keeps the latest bucket per (domain, region), its latest revision, and nothing past the time-to-live', () => {
    const ttlMinutes = DefaultAllocationPolicy.observedTtlMs / 60_000;
    const out = actionableBuckets(
      [bucket('a.example.com', 'eu-west-1', 2, 10), bucket('a.example.com', 'eu-west-1', 0, 20), bucket('a.example.com', 'eu-west-1', 0, 30, 2), bucket('a.example.com', 'us-east-1', 1, 5), bucket('b.example.com', 'eu-west-1', ttlMinutes + 1, 7)],
      NOW,
    );
    expect(out.map((b) => [b.domain, b.region, b.requests])).toEqual([
      ['a.example.com', 'eu-west-1', 30],
      ['a.example.com', 'us-east-1', 5],
    ]);
  });
});
