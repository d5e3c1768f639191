import { Client } from 'pg';
import { ErrorCodes } from '@shardcast/contracts';
import { eventually, FixtureRecord, generateTelemetry, totalsOf } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';

jest.setTimeout(300_000);

/**
 * A message that fails the same way every time ingest processes it, for real: the test's schema
 * gets a CHECK constraint that refuses one domain, so PostgreSQL refuses the batch holding it
 * (SQLSTATE 23514, a check violation: "a value the database refuses", classified unprocessable)
 * in ingest's own write, as a stricter column or a handler bug would. No code of ingest knows it.
 */
const REFUSED_DOMAIN = 'refused.example.com';

async function refuseDomain(h: IngestHarness, domain: string): Promise<void> {
  // Open shares go as arrays, one row per commit (decision 0037); closed ones a row per bucket.
  const refusing = { partition_open_deltas: `NOT ('${domain}' = ANY (domains))`, demand_buckets: `domain <> '${domain}'` };
  for (const [table, check] of Object.entries(refusing)) {
    await h.db.query(`ALTER TABLE "${h.schema}".${table} ADD CONSTRAINT test_refuses_domain CHECK (${check})`);
  }
}

const line = (r: FixtureRecord) => `${r.domain}\t${JSON.stringify(r)}`;

async function readyz(port: number): Promise<{ status: number; body: { checks?: Record<string, string> } }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks?: Record<string, string> } };
}

describe.each(['librdkafka', 'kafkajs'])('ingest on %s: one message that fails every time', (client) => {
  const h = new IngestHarness();
  beforeAll(() => h.setUp(1));
  afterAll(() => h.tearDown());

  it('is rejected alone (one dead letter, EVENT_UNPROCESSABLE, original bytes); the partition moves on and everything else is counted exactly', async () => {
    const before = generateTelemetry(300, { seed: 51 });
    // A batch of 20 records, one of them for the refused domain: the whole message is rejected.
    const poisoned = generateTelemetry(20, { seed: 52, startMs: before[before.length - 1].timestamp + 1_000 });
    poisoned[7] = { ...poisoned[7], domain: REFUSED_DOMAIN };
    const poisonJson = JSON.stringify({ records: poisoned });
    // Behind it: single records and a batch with an ordinary invalid record (its own dead letter).
    const after = generateTelemetry(300, { seed: 53, startMs: poisoned[poisoned.length - 1].timestamp + 1_000 });
    const batch = generateTelemetry(50, { seed: 54, startMs: after[after.length - 1].timestamp + 1_000 });
    const invalid = { ...batch[11], status: 999 };
    batch[11] = invalid;

    const ingest = h.startIngest({ INGEST_KAFKA_CLIENT: client });
    await ingest.waitForLog((l) => l.msg === 'ingest consuming' && l.kafkaClient === client);
    await refuseDomain(h, REFUSED_DOMAIN);
    // One producer run: the messages reach ingest in few consume batches, the poison inside one.
    await h.produceLines([...before.map(line), `edge-7\t${poisonJson}`, ...after.map(line), `edge-8\t${JSON.stringify({ records: batch })}`]);
    const poisonOffset = before.length;
    const messages = before.length + 1 + after.length + 1;

    const valid = [...before, ...after, ...batch.filter((r) => r !== invalid)];
    const totals = await eventually(() => h.totals(), (t) => t.accepted + t.rejected >= valid.length + 2);
    const expected = totalsOf(valid);
    expect(totals).toEqual({ requests: expected.requests, errors: expected.errors, bytes: expected.bytes, accepted: valid.length, rejected: 2, late: 0 });
    expect(await h.countBy('domain')).toEqual(expected.byDomain);
    const { rows } = await h.db.query(`SELECT next_offset::int AS next FROM "${h.schema}".partition_progress WHERE partition = 0`);
    expect(rows).toEqual([{ next: messages }]);

    const letters = await eventually(
      () => h.deadLetters(),
      (all) => new Set(all.map((l) => l.id)).size >= 2,
    );
    const distinct = [...new Map(letters.map((l) => [l.id, l])).values()];
    expect(distinct).toHaveLength(2);
    const whole = distinct.filter((l) => l.code === ErrorCodes.EVENT_UNPROCESSABLE);
    expect(whole).toHaveLength(1);
    expect(whole[0]).toMatchObject({ group: h.group, partition: 0, offset: String(poisonOffset), recordIndex: null, value: poisonJson });
    const record = distinct.filter((l) => l.code === ErrorCodes.TELEMETRY_INVALID_RECORD);
    expect(record).toHaveLength(1);
    expect(record[0]).toMatchObject({ offset: String(messages - 1), recordIndex: 11 });

    // It was retried (bounded), then isolated, and the database's reason is in the rejection.
    await ingest.waitForMessage('telemetry batch unprocessable; isolating the message(s) that fail', 1_000);
    const rejected = await ingest.waitForMessage('telemetry message rejected', 1_000);
    expect(rejected).toMatchObject({ partition: 0, offset: String(poisonOffset), code: ErrorCodes.EVENT_UNPROCESSABLE });
    expect(String(rejected.reason)).toMatch(/23514/);
  });
});

describe.each(['librdkafka', 'kafkajs'])('ingest on %s: a table locked for a few seconds', (client) => {
  const h = new IngestHarness();
  const locker = new Client({ connectionString: h.env.DATABASE_URL });
  beforeAll(async () => {
    await h.setUp(1);
    await locker.connect();
  });
  afterAll(async () => {
    await locker.end();
    await h.tearDown();
  });

  it('is a transient failure: retried at the same offset (stuck, not ready), never dead-lettered, exact once released', async () => {
    // A real lock timeout (SQLSTATE 55P03) instead of a wait: ingest's sessions give up on a lock after 200 ms.
    const url = new URL(h.env.DATABASE_URL);
    url.searchParams.set('options', '-c lock_timeout=200');
    const ingest = h.startIngest({ INGEST_KAFKA_CLIENT: client, DATABASE_URL: url.toString() });
    const { port } = (await ingest.waitForMessage('ingest ready')) as { port: number };
    const first = generateTelemetry(200, { seed: 61 });
    const second = generateTelemetry(200, { seed: 62, startMs: first[first.length - 1].timestamp + 1_000 });
    await h.produceLines(first.map(line));
    await eventually(() => h.totals(), (t) => t.accepted >= first.length);

    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE "${h.schema}".partition_progress IN ACCESS EXCLUSIVE MODE`);
    try {
      await h.produceLines(second.map(line));
      const stuck = await ingest.waitForLog((l) => l.msg === 'partition stuck on one offset' && l.topic === h.topic);
      expect(stuck).toMatchObject({ partition: 0, offset: String(first.length), kind: 'transient' });
      expect(String(stuck.reason)).toMatch(/55P03/);
      // After its retries in place the batch is handed back and the consumer restarts from the stored offsets.
      await ingest.waitForLog((l) => l.msg === (client === 'librdkafka' ? 'librdkafka consumer failed; restarting it (it resumes from the stored offsets)' : 'Error when calling eachBatch'));
      const notReady = await readyz(port);
      expect(notReady.status).toBe(503);
      expect(notReady.body.checks?.consumers).toMatch(new RegExp(`\\[0\\]@${first.length}: \\d+ attempts: 55P03`));
    } finally {
      await locker.query('COMMIT');
    }

    const all = [...first, ...second];
    const totals = await eventually(() => h.totals(), (t) => t.accepted >= all.length);
    const expected = totalsOf(all);
    expect(totals).toEqual({ requests: expected.requests, errors: expected.errors, bytes: expected.bytes, accepted: all.length, rejected: 0, late: 0 });
    await eventually(() => readyz(port), (r) => r.status === 200, 30_000);
    expect(await h.deadLetters()).toEqual([]);
    expect(ingest.logLines().filter((l) => l.msg === 'telemetry batch unprocessable; isolating the message(s) that fail')).toEqual([]);
  });
});
