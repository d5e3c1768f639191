import { DataSource } from 'typeorm';
import { kcat, stackEnv, uniqueName } from '@shardcast/test-stack';
import { createKafka, createLogger, createServiceDataSource, ensureTopics, EventOutboxTable, OutboxRelay, outboxTableDdl } from '@shardcast/platform';

const env = stackEnv();
const schema = uniqueName('platform_outbox_test');
const prefix = `${uniqueName('outbox')}.`;
const TOPIC = 'relay.test.v1';

describe('OutboxRelay (real PostgreSQL and Kafka)', () => {
  let db: DataSource;
  const kafka = createKafka(env.KAFKA_BROKERS.split(','), 'outbox-relay-test');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });

  beforeAll(async () => {
    db = await createServiceDataSource({ url: env.DATABASE_URL, schema, migrations: [] }).initialize();
    await db.query(`CREATE SCHEMA "${schema}"`);
    for (const ddl of outboxTableDdl(schema)) await db.query(ddl);
    await ensureTopics(kafka, [{ name: TOPIC, compacted: false }], 1, prefix);
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.destroy();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [prefix + TOPIC, `${prefix}relay.written.v1`, `${prefix}relay.compacted.v1`] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('publishes large events in pages under the broker batch limit, in order, exactly as stored', async () => {
    // 12 events of ~200 kB to one partition: all in one produce request would pass Kafka's 1 MB.
    const events = Array.from({ length: 12 }, (_, i) => ({ eventId: `e${i}`, seq: i, blob: 'x'.repeat(200_000) }));
    for (const e of events) {
      await db.query(`INSERT INTO "${schema}".outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4::jsonb)`, [e.eventId, TOPIC, 'same-key', JSON.stringify(e)]);
    }
    const relay = new OutboxRelay(new EventOutboxTable(db, schema), producer, prefix, createLogger('outbox-relay-test', 'warn'));
    const pages: number[] = [];
    for (let n = await relay.drainOnce(); n > 0; n = await relay.drainOnce()) pages.push(n);
    expect(pages.reduce((a, b) => a + b, 0)).toBe(12);
    expect(Math.max(...pages)).toBeLessThanOrEqual(3); // ≤ 768 kB of payload per page
    const [{ left }] = await db.query(`SELECT count(*)::int AS left FROM "${schema}".outbox`);
    expect(left).toBe(0); // sent events leave the outbox

    const out = await kcat(['-b', env.KAFKA_BROKERS, '-t', prefix + TOPIC, '-C', '-e', '-q', '-o', 'beginning', '-f', '%k\t%s\n']);
    const received = out.trim().split('\n').map((line) => {
      const [key, value] = line.split('\t');
      return { key, value: JSON.parse(value) };
    });
    expect(received).toEqual(events.map((e) => ({ key: 'same-key', value: e })));
  });

  it("sends what a writer hands over from memory and deletes its rows (writtenSettled waits for both); the poll sends only rows past the writer grace", async () => {
    const topic = 'relay.written.v1';
    await ensureTopics(kafka, [{ name: topic, compacted: false }], 1, prefix);
    const insert = (eventId: string, ageSeconds: number) =>
      db.query(`INSERT INTO "${schema}".outbox (event_id, topic, key, payload, created_at) VALUES ($1, $2, 'k', $3, now() - make_interval(secs => $4))`, [
        eventId,
        topic,
        JSON.stringify({ eventId }),
        ageSeconds,
      ]);
    await insert('orphan', 120); // its writer died before sending it
    await insert('fresh', 0); // its writer is about to send it
    const relay = new OutboxRelay(new EventOutboxTable(db, schema), producer, prefix, createLogger('outbox-relay-test', 'warn'), { writerGraceMs: 60_000 });
    expect(await relay.drainOnce()).toBe(1);
    expect(await relay.drainOnce()).toBe(0);
    const left = async () => (await db.query(`SELECT event_id FROM "${schema}".outbox ORDER BY id`)).map((r: { event_id: string }) => r.event_id);
    expect(await left()).toEqual(['fresh']);

    relay.publishWritten([{ eventId: 'fresh', topic, key: 'k', payload: JSON.stringify({ eventId: 'fresh' }) }], ['fresh']);
    await relay.writtenSettled(); // the send and the delete are done
    expect(await left()).toEqual([]);
    await relay.stop();
    const out = await kcat(['-b', env.KAFKA_BROKERS, '-t', prefix + topic, '-C', '-e', '-q', '-o', 'beginning', '-f', '%k\t%s\n']);
    const sent = out.trim().split('\n').map((line) => [line.split('\t')[0], JSON.parse(line.split('\t')[1]).eventId]);
    expect(sent).toEqual([
      ['k', 'orphan'],
      ['k', 'fresh'],
    ]);
  });

  it('sends a row without payload as a tombstone for its key, in order after the record it deletes', async () => {
    const topic = 'relay.compacted.v1';
    await ensureTopics(kafka, [{ name: topic, compacted: true }], 1, prefix);
    // A service whose outbox carries tombstones lets the payload be null (the forecaster's migration 1764400000000).
    await db.query(`ALTER TABLE "${schema}".outbox ALTER COLUMN payload DROP NOT NULL`);
    await db.query(`INSERT INTO "${schema}".outbox (event_id, topic, key, payload) VALUES ('put', $1, 'a.example.com', '{"v": 1}'), ('delete', $1, 'a.example.com', NULL)`, [topic]);
    const relay = new OutboxRelay(new EventOutboxTable(db, schema), producer, prefix, createLogger('outbox-relay-test', 'warn'));
    expect(await relay.drainOnce()).toBe(2);
    // %S: the value's length, -1 for a null value (a tombstone), 0 for an empty one.
    const out = await kcat(['-b', env.KAFKA_BROKERS, '-t', prefix + topic, '-C', '-e', '-q', '-o', 'beginning', '-f', '%k\t%S\n']);
    expect(out.trim().split('\n')).toEqual(['a.example.com\t8', 'a.example.com\t-1']);
  });
});
