import { eventually, generateTelemetry, malformedMessages, totalsOf } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';

jest.setTimeout(300_000);

/** Small fetches: many small transactions, so a kill lands mid-stream and mid-transaction. */
const SMALL_FETCHES = { INGEST_MAX_BYTES_PER_PARTITION: '16384', INGEST_PARTITIONS_CONCURRENCY: '2', INGEST_MAX_BATCH_MESSAGES: '500', INGEST_SESSION_TIMEOUT_MS: '6000' };
const TOTAL_VALID = 60_000;
const TOTAL_BAD = 600;

async function produceFixture(h: IngestHarness) {
  const valid = generateTelemetry(TOTAL_VALID, { seed: 11 });
  const lines = valid.map((r) => `${r.domain}\t${JSON.stringify(r)}`);
  malformedMessages(TOTAL_BAD).forEach((b, i) => lines.splice(i * 100 + 7, 0, `broken.example.com\t${b.value}`));
  // Small producer batches: Kafka hands out whole record batches, so this is what keeps each
  // ingest transaction small enough for a kill to land mid-stream.
  await h.produceLines(lines, 'lz4', h.topic, ['-X', 'batch.num.messages=100']);
  return totalsOf(valid);
}

// Both Kafka clients ingest can run on: the native librdkafka consumer (the default where it is
// built) and kafkajs. Each has its own rebalance and offset handling to prove.
describe.each(['librdkafka', 'kafkajs'])('ingest on %s stays exact across crashes and rebalances', (client) => {
  const SMALL_BATCHES = { ...SMALL_FETCHES, INGEST_KAFKA_CLIENT: client };

  it('SIGKILLed twice mid-stream and restarted, it counts every record exactly once', async () => {
    const h = new IngestHarness();
    await h.setUp();
    try {
      const expected = await produceFixture(h);
      const seen = (t: { accepted: number; rejected: number }) => t.accepted + t.rejected;

      let ingest = h.startIngest(SMALL_BATCHES);
      await ingest.waitForLog((l) => l.msg === 'ingest consuming' && l.kafkaClient === client);
      await eventually(() => h.totals(), (t) => seen(t) >= 10_000);
      await ingest.kill('SIGKILL');
      const afterFirstKill = await h.totals();
      expect(seen(afterFirstKill)).toBeLessThan(TOTAL_VALID + TOTAL_BAD);

      ingest = h.startIngest(SMALL_BATCHES);
      await eventually(() => h.totals(), (t) => seen(t) >= seen(afterFirstKill) + 15_000);
      await ingest.kill('SIGKILL');
      const afterSecondKill = await h.totals();
      expect(seen(afterSecondKill)).toBeLessThan(TOTAL_VALID + TOTAL_BAD);

      h.startIngest(SMALL_BATCHES);
      const totals = await eventually(() => h.totals(), (t) => seen(t) >= TOTAL_VALID + TOTAL_BAD);
      expect(totals).toMatchObject({ requests: expected.requests, errors: expected.errors, bytes: expected.bytes, accepted: TOTAL_VALID, rejected: TOTAL_BAD });
      expect(await h.countBy('domain')).toEqual(expected.byDomain);
      expect(await h.countBy('region')).toEqual(expected.byRegion);
    } finally {
      await h.tearDown();
    }
  });

  it('a second instance joins mid-stream, the first is SIGKILLed, and the totals stay exact', async () => {
    const h = new IngestHarness();
    await h.setUp();
    try {
      const valid = generateTelemetry(TOTAL_VALID, { seed: 13 });
      const expected = totalsOf(valid);
      const lines = valid.map((r) => `${r.domain}\t${JSON.stringify(r)}`);
      const third = Math.ceil(lines.length / 3);
      const seen = (t: { accepted: number }) => t.accepted;

      // The stream is live: it arrives in three parts while the group changes under it.
      await h.produceLines(lines.slice(0, third));
      const first = h.startIngest(SMALL_BATCHES);
      await eventually(() => h.totals(), (t) => seen(t) >= third / 2);
      const second = h.startIngest(SMALL_BATCHES);
      // The join is observable: the newcomer is handed partitions by a rebalance.
      await second.waitForLog((l) => l.msg === 'partitions assigned' && Array.isArray(l.partitions) && (l.partitions as number[]).length > 0);

      await h.produceLines(lines.slice(third, 2 * third));
      await eventually(() => h.totals(), (t) => seen(t) >= third + 2_000);
      await first.kill('SIGKILL');
      expect(seen(await h.totals())).toBeLessThan(TOTAL_VALID);
      await h.produceLines(lines.slice(2 * third));
      // The survivor takes over every partition once the dead member's session expires.
      await second.waitForLog((l) => l.msg === 'partitions assigned' && Array.isArray(l.partitions) && (l.partitions as number[]).length === 6);

      const totals = await eventually(() => h.totals(), (t) => seen(t) >= TOTAL_VALID);
      expect(totals).toMatchObject({ requests: expected.requests, errors: expected.errors, bytes: expected.bytes, accepted: TOTAL_VALID, rejected: 0 });
      expect(await h.countBy('domain')).toEqual(expected.byDomain);
    } finally {
      await h.tearDown();
    }
  });
});
