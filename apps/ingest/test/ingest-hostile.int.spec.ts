import { ErrorCodes } from '@shardcast/contracts';
import { eventually, generateTelemetry, totalsOf } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';

jest.setTimeout(300_000);

/** What an edge may send: kcat compresses with zstd and takes messages up to 20 MB before compression. */
const LARGE_MESSAGES = ['-X', 'message.max.bytes=20000000'];
const BAD = 4_321;

// Issue #14's first bug, on both Kafka clients: an invalid batch over a megabyte made ingest
// dead-letter the whole message, which the DLQ refused, and the partition stalled for good.
describe.each(['librdkafka', 'kafkajs'])('ingest on %s with messages over a megabyte', (client) => {
  const h = new IngestHarness();
  beforeAll(() => h.setUp(1));
  afterAll(() => h.tearDown());

  it('a 10,000-record batch with one bad record, then 1.5 MB of non-JSON: both dead-lettered alone, everything else counted', async () => {
    const batch = generateTelemetry(10_000, { seed: 41 });
    const bad = { ...batch[BAD], status: 999 };
    batch[BAD] = bad;
    const batchJson = JSON.stringify({ records: batch });
    expect(batchJson.length).toBeGreaterThan(1_300_000);
    const garbage = Array.from({ length: 150_000 }, (_, i) => `not json ${i % 10}`).join('').slice(0, 1_500_000);
    // Behind both on the same partition, later in event time.
    const after = generateTelemetry(500, { seed: 42, startMs: batch[batch.length - 1].timestamp + 1_000 });

    const ingest = h.startIngest({ INGEST_KAFKA_CLIENT: client });
    await ingest.waitForLog((l) => l.msg === 'ingest consuming' && l.kafkaClient === client);
    await h.produceLines([`edge-1\t${batchJson}`], 'zstd', h.topic, LARGE_MESSAGES);
    await h.produceLines([`edge-1\t${garbage}`], 'zstd', h.topic, LARGE_MESSAGES);
    await h.produceLines(after.map((r) => `${r.domain}\t${JSON.stringify(r)}`), 'zstd');

    const valid = [...batch.filter((r) => r !== bad), ...after];
    const totals = await eventually(() => h.totals(), (t) => t.accepted + t.rejected >= valid.length + 2);
    const expected = totalsOf(valid);
    expect(totals).toMatchObject({ requests: expected.requests, errors: expected.errors, bytes: expected.bytes, accepted: 10_499, rejected: 2, late: 0 });
    expect(await h.countBy('domain')).toEqual(expected.byDomain);

    // The bad record alone, named by its index; the garbage whole (compressed), or quarantined
    // when the DLQ refuses it.
    const quarantined = async () =>
      (await h.db.query(`SELECT source_offset::int AS offset, record_index, error_code, value_bytes FROM "${h.schema}".quarantined_messages`)).rows;
    const letters = await eventually(
      async () => [...(await h.deadLetters()), ...(await quarantined())],
      (all) => all.length >= 2,
    );
    const dlq = await h.deadLetters();
    const record = dlq.filter((l) => l.recordIndex !== null);
    expect(record).toHaveLength(1);
    expect(record[0]).toMatchObject({ group: h.group, code: ErrorCodes.TELEMETRY_INVALID_RECORD, partition: 0, offset: '0', recordIndex: BAD });
    expect(JSON.parse(record[0].value)).toEqual(bad);
    const whole = dlq.filter((l) => l.recordIndex === null);
    expect(letters).toHaveLength(2);
    if (whole.length === 1) {
      expect(whole[0]).toMatchObject({ group: h.group, code: ErrorCodes.TELEMETRY_MALFORMED_JSON, offset: '1', value: garbage });
    } else {
      expect(await quarantined()).toEqual([{ offset: 1, record_index: null, error_code: ErrorCodes.TELEMETRY_MALFORMED_JSON, value_bytes: garbage.length }]);
    }
  });
});
