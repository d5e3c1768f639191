import { createKafka } from '@shardcast/platform';
import { eventually, generateTelemetry, totalsOf, uniqueName } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';

jest.setTimeout(180_000);

/**
 * The idle close against the real broker (decision 0036): a quiet partition closes only once it
 * has read up to the broker's end offset. A transactional producer's commit marker is an offset no
 * consumer is handed, so its partitions stay behind the end for good and close by the backlog rule.
 */
describe("ingest's idle close, against the broker's end offsets", () => {
  const h = new IngestHarness();
  beforeAll(() => h.setUp(3));
  afterAll(() => h.tearDown());

  it('keeps partitions behind a commit marker open, then closes them once the end has not moved for the backlog window', async () => {
    const records = generateTelemetry(900, { seed: 21, domains: 30 });
    const ingest = h.startIngest({ INGEST_IDLE_CLOSE_MS: '1000', INGEST_IDLE_CLOSE_BACKLOG_MS: '10000' });
    await ingest.waitForMessage('ingest consuming');

    const kafka = createKafka(h.env.KAFKA_BROKERS.split(','), 'idle-close-test');
    const producer = kafka.producer({ transactionalId: uniqueName('telemetry-tx'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const tx = await producer.transaction();
      await tx.send({ topic: h.topic, messages: records.map((r) => ({ key: r.domain, value: JSON.stringify(r) })) });
      await tx.commit();
    } finally {
      await producer.disconnect();
    }

    const totals = await eventually(() => h.totals(), (t) => t.accepted >= records.length);
    expect(totals).toMatchObject({ accepted: records.length, rejected: 0, late: 0 });
    // Every partition read to its last record is one offset short of the broker's end: the marker.
    const admin = kafka.admin();
    await admin.connect();
    const ends = new Map((await admin.fetchTopicOffsets(h.topic)).map((p) => [p.partition, Number(p.high)]));
    await admin.disconnect();
    const stored = (await h.db.query(`SELECT partition, next_offset::int AS next FROM "${h.schema}".partition_progress`)).rows as Array<{ partition: number; next: number }>;
    expect(stored.length).toBeGreaterThan(0);
    for (const { partition, next } of stored) expect(ends.get(partition)).toBe(next + 1);

    // Quiet but behind the end: kept open (and said so, 1 s after the last batch; the backlog
    // window, 10 s, leaves the checks below time on a loaded machine) ...
    const held = await ingest.waitForMessage('idle partitions kept open: not caught up with the broker', 30_000);
    expect((held.partitions as Array<{ reason: string }>).every((p) => p.reason === 'behind-end')).toBe(true);
    expect(Number((await h.db.query(`SELECT count(*) FROM "${h.schema}".partition_buckets`)).rows[0].count)).toBeGreaterThan(0);
    // ... until the end has stood still for the backlog window: then every bucket closes, exactly.
    await eventually(async () => Number((await h.db.query(`SELECT count(*) FROM "${h.schema}".partition_buckets`)).rows[0].count), (n) => n === 0, 60_000);
    const expected = totalsOf(records);
    expect(await h.totals()).toEqual({ requests: expected.requests, errors: expected.errors, bytes: expected.bytes, accepted: records.length, rejected: 0, late: 0 });
  });
});
