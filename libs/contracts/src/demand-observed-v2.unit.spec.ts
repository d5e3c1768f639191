import { DemandObservedBatchEventSchema, MAX_OBSERVED_BATCH_BUCKETS, observedBatchKey } from './demand-observed-v2';
import { contractTopicSpecs, deadLetterTopic, Topics } from './topics';

const bucket = {
  domain: 'app.example.com',
  region: 'eu-west-1',
  bucketStart: '2026-12-03T08:00:00.000Z',
  bucketSeconds: 60,
  revision: 1,
  requests: 2,
  errors: 0,
  bytes: 61234,
  bytesExact: '61234',
  latencyMs: { p50: 40, p90: 233, p99: 233, max: 233 },
  latencySketch: 'AAAA',
};
const event = (source: Record<string, unknown>, buckets: unknown[] = [bucket]) => ({
  eventId: 'e-1',
  type: 'demand.observed',
  occurredAt: '2026-12-03T09:00:00.000Z',
  producedBy: 'ingest',
  correlationId: 'e-1',
  causationId: null,
  payload: { source: { topic: Topics.telemetryRequests, partition: 3, fromOffset: '1200000', commitOffset: '1250000', chunk: 0, chunks: 1, ...source }, buckets },
});

describe('demand.observed.v2', () => {
  it('is a contract topic with its dead-letter twin', () => {
    const names = contractTopicSpecs().map((s) => s.name);
    expect(names).toContain('demand.observed.v2');
    expect(names).toContain(deadLetterTopic(Topics.demandObservedV2));
  });

  it('accepts a commit chunk of v1 bucket payloads, a first commit (no offset before) and an idle close (none read)', () => {
    expect(DemandObservedBatchEventSchema.safeParse(event({})).error).toBeUndefined();
    expect(DemandObservedBatchEventSchema.safeParse(event({ fromOffset: null })).success).toBe(true);
    expect(DemandObservedBatchEventSchema.safeParse(event({ fromOffset: '1250000' })).success).toBe(true);
    expect(DemandObservedBatchEventSchema.safeParse(event({ chunk: 2, chunks: 3 }, new Array(MAX_OBSERVED_BATCH_BUCKETS).fill(bucket))).success).toBe(true);
  });

  it('refuses a chunk past its count, an empty or oversized chunk, a bad offset, an invalid bucket', () => {
    for (const bad of [
      event({ chunk: 1, chunks: 1 }),
      event({ chunks: 0 }),
      event({}, []),
      event({}, new Array(MAX_OBSERVED_BATCH_BUCKETS + 1).fill(bucket)),
      event({ commitOffset: 12 }),
      event({ commitOffset: '-1' }),
      event({ partition: -1 }),
      event({}, [{ ...bucket, domain: 'App.Example.com' }]),
      event({}, [{ ...bucket, latencySketch: 'not base64!' }]),
    ]) {
      expect(DemandObservedBatchEventSchema.safeParse(bad).success).toBe(false);
    }
  });

  it('is keyed by source partition', () => {
    expect(observedBatchKey({ topic: 'p.telemetry.requests.v1', partition: 5 })).toBe('p.telemetry.requests.v1:5');
  });
});
