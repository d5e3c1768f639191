import { DeadLetterHeaders } from '@shardcast/contracts';
import { eventually, FIXTURE_CITIES, generateTelemetry, malformedMessages, totalsOf } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';

jest.setTimeout(300_000);

// Both Kafka clients: the native librdkafka consumer (the default where built) and kafkajs, each
// with every codec an outside producer may use.
describe.each(['librdkafka', 'kafkajs'])('ingest on %s against the real broker and database', (client) => {
  const h = new IngestHarness();
  beforeAll(() => h.setUp());
  afterAll(() => h.tearDown());

  it('counts 100k records (1k malformed) sent with kcat exactly and dead-letters the 1k with reasons', async () => {
    const valid = generateTelemetry(99_000, { seed: 7 });
    const bad = malformedMessages(1_000);
    const expected = totalsOf(valid);
    const lines = valid.map((r) => `${r.domain}\t${JSON.stringify(r)}`);
    // Spread the bad messages through the stream, as a broken edge would send them.
    bad.forEach((b, i) => lines.splice(i * 99 + 50, 0, `broken.example.com\t${b.value}`));

    const ingest = h.startIngest({ INGEST_KAFKA_CLIENT: client, INGEST_DEMAND_OBSERVED_TOPICS: 'v1' }); // v1's own tests (v2's: ingest-observed-v2)
    await ingest.waitForLog((l) => l.msg === 'ingest consuming' && l.kafkaClient === client);
    // One producer per codec: kafkajs decodes only gzip by itself (docs/decisions/0010-versions-on-node-20.md);
    // librdkafka decodes all four natively.
    const quarter = Math.ceil(lines.length / 4);
    await h.produceLines(lines.slice(0, quarter), 'lz4');
    await h.produceLines(lines.slice(quarter, 2 * quarter), 'snappy');
    await h.produceLines(lines.slice(2 * quarter, 3 * quarter), 'zstd');
    await h.produceLines(lines.slice(3 * quarter), 'gzip');

    const totals = await eventually(() => h.totals(), (t) => t.accepted + t.rejected >= 100_000);
    expect(totals).toMatchObject({ requests: expected.requests, errors: expected.errors, bytes: expected.bytes, accepted: 99_000, rejected: 1_000, late: 0 });
    expect(await h.countBy('domain')).toEqual(expected.byDomain);
    expect(await h.countBy('region')).toEqual(expected.byRegion);
    expect([...expected.byRegion.keys()].sort()).toEqual([...new Set(FIXTURE_CITIES.map((c) => c.region))].sort());
    // The history job runs inside ingest from the start (docs/decisions/0023-bounded-demand-history.md): today's partition and the next ones.
    const today = new Date().toISOString().slice(0, 10);
    expect(await ingest.waitForMessage('history job ran')).toMatchObject({ history: `${h.schema}.demand_buckets`, created: expect.arrayContaining([today]) });

    const dlq = await eventually(
      () => h.readTopic(`${h.topic}.dlq`, `%h\n`),
      (rows) => rows.length >= 1_000,
    );
    expect(dlq).toHaveLength(1_000);
    const codes = new Map<string, number>();
    for (const headers of dlq) {
      const code = /x-error-code=([A-Z_]+)/.exec(headers)?.[1] ?? 'none';
      expect(headers).toContain(`${DeadLetterHeaders.errorReason}=`);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    const expectedCodes = new Map<string, number>();
    for (const b of bad) expectedCodes.set(b.code, (expectedCodes.get(b.code) ?? 0) + 1);
    expect(codes).toEqual(expectedCodes);
  });

  it('publishes demand.observed.v1 from the outbox for closed buckets, matching the stored buckets', async () => {
    const stored = await h.db.query(`SELECT count(*)::int AS n, coalesce(sum(requests),0)::bigint AS requests FROM "${h.schema}".demand_buckets`);
    expect(stored.rows[0].n).toBeGreaterThan(0);
    const events = await eventually(
      () => h.readTopic(`${h.prefix}demand.observed.v1`, '%s\n'),
      (rows) => rows.length >= stored.rows[0].n,
      30_000,
    );
    const latest = new Map<string, { revision: number; requests: number }>();
    for (const line of events) {
      const e = JSON.parse(line);
      expect(e.type).toBe('demand.observed');
      const id = `${e.payload.domain}|${e.payload.region}|${e.payload.bucketStart}`;
      if ((latest.get(id)?.revision ?? 0) < e.payload.revision) latest.set(id, e.payload);
    }
    expect(latest.size).toBe(stored.rows[0].n);
    expect([...latest.values()].reduce((s, p) => s + p.requests, 0)).toBe(Number(stored.rows[0].requests));
  });
});

describe('ingest merges a bucket fed by several partitions', () => {
  const h = new IngestHarness();
  beforeAll(() => h.setUp());
  afterAll(() => h.tearDown());

  it('publishes revisions whose latest values add up to every record, quiet partitions included', async () => {
    // Edges batch many domains per message and key by edge: one (domain, region, minute) bucket
    // then gets records from several partitions.
    const records = generateTelemetry(30_000, { seed: 21, domains: 3, stepMs: 40 });
    const expected = totalsOf(records);
    const lines: string[] = [];
    for (let i = 0; i < records.length; i += 50) lines.push(`edge-${(i / 50) % 11}\t${JSON.stringify({ records: records.slice(i, i + 50) })}`);
    h.startIngest({ INGEST_IDLE_CLOSE_MS: '1500', INGEST_DEMAND_OBSERVED_TOPICS: 'v1' });
    await h.produceLines(lines, 'snappy');

    await eventually(() => h.totals(), (t) => t.accepted >= records.length);
    const closed = await eventually(
      async () => Number((await h.db.query(`SELECT coalesce(sum(requests),0)::bigint AS n FROM "${h.schema}".demand_buckets`)).rows[0].n),
      (n) => n >= expected.requests,
    );
    expect(closed).toBe(expected.requests);

    const latest = new Map<string, { revision: number; requests: number; bytes: number }>();
    await eventually(
      async () => {
        for (const line of await h.readTopic(`${h.prefix}demand.observed.v1`, '%s\n')) {
          const { payload } = JSON.parse(line);
          const id = `${payload.domain}|${payload.region}|${payload.bucketStart}`;
          if ((latest.get(id)?.revision ?? 0) < payload.revision) latest.set(id, payload);
        }
        return [...latest.values()].reduce((s, p) => s + p.requests, 0);
      },
      (n) => n >= expected.requests,
    );
    const published = [...latest.values()];
    expect(published.reduce((s, p) => s + p.requests, 0)).toBe(expected.requests);
    expect(published.reduce((s, p) => s + p.bytes, 0)).toBe(expected.bytes);
    expect(published.some((p) => p.revision > 1)).toBe(true);
  });
});
