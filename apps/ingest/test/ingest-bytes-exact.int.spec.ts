import { DemandObservedEventSchema, MAX_RECORD_BYTES } from '@shardcast/contracts';
import { eventually } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';

jest.setTimeout(300_000);

const DOMAIN = 'big.example.com';
const MINUTE = Date.UTC(2026, 10, 25, 10, 0);
const record = (i: number, bytes: number) => ({ domain: DOMAIN, timestamp: MINUTE + (i % 60_000), client: { lat: 50.11, lon: 8.68 }, status: 200, latencyMs: 10 + (i % 7), bytes });

/** `count` records of `bytes` each as `{"records":[…]}` messages of 5,000, keyed by the domain (one partition). */
function lines(from: number, count: number, bytes: number): string[] {
  const out: string[] = [];
  for (let i = from; i < from + count; i += 5_000) {
    const records = Array.from({ length: Math.min(5_000, from + count - i) }, (_, k) => record(i + k, bytes));
    out.push(`${DOMAIN}\t${JSON.stringify({ records })}`);
  }
  return out;
}

// One (domain, region, minute) bucket of 100,000 records of MAX_RECORD_BYTES (1e16 bytes, past
// 2^53) plus 3 records of 1 byte: 10000000000000003 is no double (they are 2 apart there), so a
// double sum loses the 3 bytes. The open share passes 2^53 before a restart, so it is written and
// read back from partition_buckets too, then closed and published.
describe.each(['librdkafka', 'kafkajs'])('ingest on %s keeps byte totals exact past 2^53', (client) => {
  const h = new IngestHarness();
  beforeAll(() => h.setUp());
  afterAll(() => h.tearDown());

  const bytesOfView = async () =>
    (await h.db.query(`SELECT bytes::text AS bytes, requests::int AS requests, closed FROM "${h.schema}".demand_history WHERE domain = $1`, [DOMAIN]).catch((err: { code?: string }) => {
      if (err.code === '42P01' || err.code === '3F000') return { rows: [] }; // not migrated yet
      throw err;
    })).rows as Array<{ bytes: string; requests: number; closed: boolean }>;

  it('stores 100,000 maximum-size records in one bucket exactly and publishes the exact total in bytesExact', async () => {
    expect(MAX_RECORD_BYTES).toBe(1e11);
    // 95,000 records of 1e11 and 3 of 1 byte: 9500000000000003, past 2^53, still open (no idle close).
    const first = h.startIngest({ INGEST_KAFKA_CLIENT: client, INGEST_IDLE_CLOSE_MS: '600000', INGEST_DEMAND_OBSERVED_TOPICS: 'v1' });
    await first.waitForLog((l) => l.msg === 'ingest consuming' && l.kafkaClient === client);
    await h.produceLines([...lines(0, 95_000, MAX_RECORD_BYTES), `${DOMAIN}\t${JSON.stringify({ records: [record(1, 1), record(2, 1), record(3, 1)] })}`]);
    const open = await eventually(bytesOfView, (rows) => rows.length === 1 && rows[0].requests === 95_003);
    expect(open).toEqual([{ bytes: '9500000000000003', requests: 95_003, closed: false }]);
    await first.kill('SIGTERM');

    // The rest, then a new instance: it reads the open share back from partition_buckets (as text),
    // adds 5,000 records, closes the bucket when the partition goes quiet and publishes it.
    await h.produceLines(lines(95_000, 5_000, MAX_RECORD_BYTES));
    h.startIngest({ INGEST_KAFKA_CLIENT: client, INGEST_IDLE_CLOSE_MS: '2000', INGEST_DEMAND_OBSERVED_TOPICS: 'v1' });
    const closed = await eventually(bytesOfView, (rows) => rows.length === 1 && rows[0].closed);
    expect(closed).toEqual([{ bytes: '10000000000000003', requests: 100_003, closed: true }]);
    const stored = await h.db.query(`SELECT bytes::text AS bytes FROM "${h.schema}".demand_buckets WHERE domain = $1 ORDER BY revision DESC LIMIT 1`, [DOMAIN]);
    expect(stored.rows).toEqual([{ bytes: '10000000000000003' }]);
    const partials = await h.db.query(`SELECT count(*)::int AS n FROM "${h.schema}".partition_buckets WHERE domain = $1`, [DOMAIN]);
    expect(partials.rows[0].n).toBe(0);

    const events = await eventually(
      async () => (await h.readTopic(`${h.prefix}demand.observed.v1`, '%s\n')).map((line) => JSON.parse(line)).filter((e) => e.payload.domain === DOMAIN),
      (es) => es.length >= 1,
      30_000,
    );
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(DemandObservedEventSchema.safeParse(event).success).toBe(true);
    expect(event.payload).toMatchObject({ requests: 100_003, revision: 1, bytesExact: '10000000000000003', bytes: Number('10000000000000003') });
    // bytesExact sits in the JSON text as a string: no JSON number parse ever rounded it.
    const raw = (await h.readTopic(`${h.prefix}demand.observed.v1`, '%s\n')).find((line) => line.includes(DOMAIN))!;
    expect(raw).toContain('"bytesExact":"10000000000000003"');
  });
});
