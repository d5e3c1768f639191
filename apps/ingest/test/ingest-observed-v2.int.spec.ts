import { DemandObserved, DemandObservedBatchEvent, DemandObservedBatchEventSchema, MAX_OBSERVED_BATCH_BUCKETS } from '@shardcast/contracts';
import { eventually, generateTelemetry, totalsOf } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';

jest.setTimeout(300_000);

/** A v2 message as read: where it is, its key and the event, and its bytes as sent. */
interface ReadBatch {
  partition: number;
  offset: number;
  key: string;
  event: DemandObservedBatchEvent;
  text: string;
}

const bucketKey = (b: DemandObserved) => `${b.domain}|${b.region}|${b.bucketStart}|${b.bucketSeconds}`;

describe('ingest publishing demand.observed.v2 only, against the real broker and database', () => {
  const h = new IngestHarness();
  // A long writer grace: the first run's events are the writer's own sends, none a poll's.
  const env = { INGEST_DEMAND_OBSERVED_TOPICS: 'v2', INGEST_IDLE_CLOSE_MS: '4000', INGEST_MAX_BYTES_PER_PARTITION: '65536', INGEST_OUTBOX_WRITER_GRACE_MS: '600000' };
  beforeAll(() => h.setUp());
  afterAll(() => h.tearDown());

  async function readBatches(): Promise<ReadBatch[]> {
    return (await h.readTopic(`${h.prefix}demand.observed.v2`, '%p\t%o\t%k\t%s\n')).map((line) => {
      const [partition, offset, key] = line.split('\t', 3);
      const text = line.slice(partition.length + offset.length + key.length + 3);
      return { partition: Number(partition), offset: Number(offset), key, event: DemandObservedBatchEventSchema.parse(JSON.parse(text)) as DemandObservedBatchEvent, text };
    });
  }

  const outboxRows = async () => (await h.db.query(`SELECT count(*)::int AS n FROM "${h.schema}".demand_outbox`)).rows[0].n as number;

  it('publishes every record in per-commit events whose latest revisions sum to the exact totals; an outbox resend repeats their ids', async () => {
    // 200 domains: an idle partition's close holds more than a chunk's buckets. Half the records
    // keyed by domain, half by record: those buckets are closed by several partitions (revisions 2+).
    const records = generateTelemetry(40_000, { seed: 11, domains: 200 });
    const expected = totalsOf(records);
    const lines = records.map((r, i) => `${i % 2 ? r.domain : `k${i}`}\t${JSON.stringify(r)}`);

    let ingest = h.startIngest(env);
    await ingest.waitForMessage('ingest consuming');
    // A copy of every outbox row as its commit wrote it, to put back later as the rows of a writer
    // that crashed before sending.
    const s = `"${h.schema}"`;
    await h.db.query(`CREATE TABLE ${s}.outbox_copy AS TABLE ${s}.demand_outbox WITH NO DATA`);
    await h.db.query(`CREATE FUNCTION ${s}.copy_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ${s}.outbox_copy SELECT NEW.*; RETURN NEW; END $$`);
    await h.db.query(`CREATE TRIGGER copy_outbox AFTER INSERT ON ${s}.demand_outbox FOR EACH ROW EXECUTE FUNCTION ${s}.copy_outbox()`);
    await h.produceLines(lines);

    const totals = await eventually(() => h.totals(), (t) => t.accepted + t.rejected >= records.length);
    expect(totals).toMatchObject({ accepted: records.length, rejected: 0, late: 0 });
    // Every bucket closed (the partitions went idle) and every commit's events sent.
    await eventually(async () => (await h.db.query(`SELECT count(*)::int AS n FROM ${s}.partition_buckets`)).rows[0].n as number, (n) => n === 0, 60_000);
    await eventually(outboxRows, (n) => n === 0, 60_000);
    const commits = (await h.db.query(`SELECT count(*)::int AS n, coalesce(sum(cardinality(chunk_ends)), 0)::int AS chunks FROM ${s}.outbox_copy`)).rows[0];
    const sent = await eventually(readBatches, (b) => new Set(b.map((m) => m.event.eventId)).size >= commits.chunks, 60_000, 500);

    // One event per chunk of a commit, keyed by its source partition.
    const byId = new Map(sent.map((m) => [m.event.eventId, m]));
    expect(byId.size).toBe(commits.chunks);
    for (const { key, event } of byId.values()) {
      const { source, buckets } = event.payload;
      expect(source.topic).toBe(h.topic);
      expect(key).toBe(`${h.topic}:${source.partition}`);
      expect(buckets.length).toBeLessThanOrEqual(MAX_OBSERVED_BATCH_BUCKETS);
    }
    expect([...byId.values()].some((m) => m.event.payload.source.chunks > 1)).toBe(true); // the test cut some commits
    expect(await h.readTopic(`${h.prefix}demand.observed.v1`, '%s\n')).toEqual([]); // v1 off

    // The latest revision of each bucket key, summed: the records sent, exactly.
    const latest = new Map<string, DemandObserved>();
    for (const { event } of byId.values()) for (const b of event.payload.buckets) if ((latest.get(bucketKey(b))?.revision ?? 0) < b.revision) latest.set(bucketKey(b), b);
    expect(Math.max(...[...latest.values()].map((b) => b.revision))).toBeGreaterThan(1);
    const sum = (pick: (b: DemandObserved) => bigint) => [...latest.values()].reduce((t, b) => t + pick(b), 0n);
    expect({ requests: sum((b) => BigInt(b.requests)), errors: sum((b) => BigInt(b.errors)), bytes: sum((b) => BigInt(b.bytesExact!)) }).toEqual({
      requests: BigInt(expected.requests),
      errors: BigInt(expected.errors),
      bytes: BigInt(expected.bytes),
    });
    const byDomain = new Map<string, number>();
    for (const b of latest.values()) byDomain.set(b.domain, (byDomain.get(b.domain) ?? 0) + b.requests);
    expect(byDomain).toEqual(expected.byDomain);
    const stored = await h.db.query(`SELECT count(*)::int AS n FROM ${s}.demand_buckets`);
    expect(latest.size).toBe(stored.rows[0].n);

    // The writer crashed before sending, as far as the outbox knows: its rows are back, past the
    // writer grace, and a restarted ingest's poll sends them again.
    await ingest.kill('SIGTERM');
    await h.db.query(`DROP TRIGGER copy_outbox ON ${s}.demand_outbox`);
    await h.db.query(`INSERT INTO ${s}.demand_outbox SELECT * FROM ${s}.outbox_copy`);
    await h.db.query(`UPDATE ${s}.demand_outbox SET created_at = now() - interval '1 hour'`);
    ingest = h.startIngest(env);
    await eventually(outboxRows, (n) => n === 0, 120_000);
    // (The topic's partitions interleave in a read: what is new is past each partition's end before.)
    const endBefore = new Map<number, number>();
    for (const m of sent) endBefore.set(m.partition, Math.max(endBefore.get(m.partition) ?? -1, m.offset));
    const resent = (await eventually(readBatches, (b) => b.length > sent.length, 60_000, 500)).filter((m) => m.offset > (endBefore.get(m.partition) ?? -1));

    // The same ids: every resent event is one sent before, the same bytes unless a revision in it
    // was replaced since (then left out, the rest as before); a chunk left empty is not resent.
    const latestRevision = new Set([...latest.values()].map((b) => `${bucketKey(b)}#${b.revision}`));
    const isLatest = (b: DemandObserved) => latestRevision.has(`${bucketKey(b)}#${b.revision}`);
    const expectedResent = [...byId.values()].filter((m) => m.event.payload.buckets.some(isLatest));
    expect(new Set(resent.map((m) => m.event.eventId))).toEqual(new Set(expectedResent.map((m) => m.event.eventId)));
    let identical = 0;
    for (const again of resent) {
      const first = byId.get(again.event.eventId)!;
      expect(again.key).toBe(first.key);
      if (first.event.payload.buckets.every(isLatest)) {
        expect(again.text).toBe(first.text);
        identical++;
      } else {
        expect(again.event).toEqual({ ...first.event, payload: { ...first.event.payload, buckets: first.event.payload.buckets.filter(isLatest) } });
      }
    }
    expect(identical).toBeGreaterThan(0);
  });
});
