import { eventually, generateTelemetry, totalsOf } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';

jest.setTimeout(300_000);

describe('ingest under an open-bucket limit, against the real broker and database', () => {
  const h = new IngestHarness();
  beforeAll(() => h.setUp());
  afterAll(() => h.tearDown());

  it('closes the least recently touched buckets early and stays exact: later shares become the next revisions', async () => {
    // 400 domains over 6 partitions, keyed by domain, a record every 20 ms (10 minutes of event
    // time): each partition holds ~65 domains × several regions open per minute, far above a
    // limit of 10 per partition, so buckets are evicted and touched again.
    const records = generateTelemetry(30_000, { seed: 5, domains: 400 });
    const expected = totalsOf(records);
    const limit = 10;
    const ingest = h.startIngest({ INGEST_MAX_OPEN_BUCKETS: String(limit), INGEST_IDLE_CLOSE_MS: '3000', INGEST_MAX_BYTES_PER_PARTITION: '65536' });
    await ingest.waitForMessage('ingest consuming');
    const s = `"${h.schema}"`;
    let maxStoredOpen = 0;
    const stored = async () => {
      const n = (await h.db.query(`SELECT count(*)::int AS n FROM ${s}.partition_buckets`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n as number;
      maxStoredOpen = Math.max(maxStoredOpen, n);
      return n;
    };
    await h.produceLines(records.map((r) => `${r.domain}\t${JSON.stringify(r)}`));

    const totals = await eventually(
      async () => (await stored(), h.totals()),
      (t) => t.accepted + t.rejected >= records.length,
    );
    expect(totals).toMatchObject({ accepted: records.length, rejected: 0, late: 0 });
    await eventually(stored, (n) => n === 0, 60_000); // every bucket closed in the end
    // Stored open shares never exceed the limit per partition (each commit stores a partition's ledger).
    expect(maxStoredOpen).toBeLessThanOrEqual(6 * limit);
    expect(maxStoredOpen).toBeGreaterThan(0);

    // Exact: each (domain, region, minute) is one row, its latest revision holding every record.
    expect(await h.totals()).toMatchObject({ requests: expected.requests, errors: expected.errors, bytes: expected.bytes });
    expect(await h.countBy('domain')).toEqual(new Map([...expected.byDomain].map(([d, n]) => [d, n])));
    // A domain's records all go to one partition, so a revision past 1 is an evicted bucket touched again.
    const revisions = (await h.db.query(`SELECT max(revision)::int AS max, count(*) FILTER (WHERE revision > 1)::int AS later FROM ${s}.demand_buckets`)).rows[0];
    expect(revisions.later).toBeGreaterThan(0);
    const keys = (await h.db.query(`SELECT count(*)::int AS n, count(DISTINCT (domain, region, bucket_start))::int AS distinct_keys FROM ${s}.demand_buckets`)).rows[0];
    expect(keys.n).toBe(keys.distinct_keys);
  });
});
