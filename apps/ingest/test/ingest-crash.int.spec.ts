import { eventually, FixtureRecord, generateTelemetry, malformedMessages, totalsOf } from '@shardcast/test-stack';
import { IngestHarness } from './ingest-harness';

jest.setTimeout(300_000);

/** Small fetches: many small transactions, so a kill lands mid-stream and mid-transaction. */
const SMALL_FETCHES = { INGEST_MAX_BYTES_PER_PARTITION: '16384', INGEST_PARTITIONS_CONCURRENCY: '2', INGEST_MAX_BATCH_MESSAGES: '500', INGEST_SESSION_TIMEOUT_MS: '6000' };
// Large enough that both kills land mid-stream with over half of it still to come: a kill follows
// a poll of the stored totals, and a fast ingest stores thousands of records between two polls.
const TOTAL_VALID = 30_000;
const TOTAL_BAD = 400;

async function produceFixture(h: IngestHarness) {
  const valid = generateTelemetry(TOTAL_VALID, { seed: 11 });
  const lines = valid.map((r) => `${r.domain}\t${JSON.stringify(r)}`);
  malformedMessages(TOTAL_BAD).forEach((b, i) => lines.splice(i * 100 + 7, 0, `broken.example.com\t${b.value}`));
  // Small producer batches: Kafka hands out whole record batches, so this is what keeps each
  // ingest transaction small enough for a kill to land mid-stream.
  await h.produceLines(lines, 'lz4', h.topic, ['-X', 'batch.num.messages=100']);
  return totalsOf(valid);
}

/**
 * A stream with bad records of both kinds, each unique (so its dead letter can be recognised):
 * per 100 valid records a whole bad message (malformed JSON, a bad domain, or a bad status, in
 * turn), and every other 100 a batch of 20 of them with 2 bad records inside. Returns the lines,
 * the valid records and what each bad record's dead letter holds (the message, or the record alone).
 */
function streamWithBadRecords(validCount: number): { lines: string[]; valid: FixtureRecord[]; badValues: Set<string> } {
  const valid = generateTelemetry(validCount, { seed: 17 });
  const lines: string[] = [];
  const badValues = new Set<string>();
  const line = (key: string, value: string) => lines.push(`${key}\t${value}`);
  for (let block = 0; block * 100 < valid.length; block++) {
    const records = valid.slice(block * 100, block * 100 + 100);
    const at = records[0];
    const whole = [
      `not json ${block}`,
      JSON.stringify({ ...at, domain: `bad_domain!${block}.example.com` }),
      JSON.stringify({ ...at, status: 999, bytes: block }),
    ][block % 3];
    badValues.add(whole);
    line('broken.example.com', whole);
    let single = records;
    if (block % 2 === 0) {
      const bad = [0, 1].map((j) => ({ ...at, status: 999, bytes: 1_000_000 + 2 * block + j }));
      const batch: FixtureRecord[] = records.slice(0, 20);
      batch.splice(block % 19, 0, bad[0]);
      batch.push(bad[1]);
      for (const b of bad) badValues.add(JSON.stringify(b));
      line(`edge-${block % 11}`, JSON.stringify({ records: batch }));
      single = records.slice(20);
    }
    for (const r of single) line(r.domain, JSON.stringify(r));
  }
  return { lines, valid, badValues };
}

// Both Kafka clients ingest can run on: the native librdkafka consumer (the default where it is
// built) and kafkajs. Each has its own rebalance and offset handling to prove.
describe.each(['librdkafka', 'kafkajs'])('ingest on %s stays exact across crashes and rebalances', (client) => {
  const SMALL_BATCHES = { ...SMALL_FETCHES, INGEST_KAFKA_CLIENT: client };
  const seen = (t: { accepted: number; rejected: number }) => t.accepted + t.rejected;

  /**
   * Ingest over a stream of `total` records, SIGKILLed once `kills[0]` more records are stored,
   * restarted, SIGKILLed again `kills[1]` later (each time mid-stream), then run to the end:
   * resolves with the final totals.
   */
  async function ingestKilledTwice(h: IngestHarness, total: number, kills: [number, number]) {
    let stored = 0;
    for (const more of kills) {
      const ingest = h.startIngest(SMALL_BATCHES);
      await ingest.waitForLog((l) => l.msg === 'ingest consuming' && l.kafkaClient === client);
      // Polled often: ingest stores a few thousand records in 200 ms, and the kill must come mid-stream.
      await eventually(() => h.totals(), (t) => seen(t) >= stored + more, 120_000, 10);
      await ingest.kill('SIGKILL');
      stored = seen(await h.totals());
      expect(stored).toBeLessThan(total);
    }
    h.startIngest(SMALL_BATCHES);
    return eventually(() => h.totals(), (t) => seen(t) >= total);
  }

  it('SIGKILLed twice mid-stream and restarted, it counts every record exactly once', async () => {
    const h = new IngestHarness();
    await h.setUp();
    try {
      const expected = await produceFixture(h);
      const totals = await ingestKilledTwice(h, TOTAL_VALID + TOTAL_BAD, [4_000, 6_000]);
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

  it('SIGKILLed twice with bad records in the stream: one dead letter id per bad record, none counted', async () => {
    const h = new IngestHarness();
    await h.setUp();
    try {
      const { lines, valid, badValues } = streamWithBadRecords(18_000);
      const expected = totalsOf(valid);
      const total = valid.length + badValues.size;
      expect(badValues.size).toBe(360); // 180 whole bad messages, 90 batches with 2 bad records each
      await h.produceLines(lines, 'lz4', h.topic, ['-X', 'batch.num.messages=100']);

      const totals = await ingestKilledTwice(h, total, [3_000, 4_000]);
      expect(totals).toMatchObject({ requests: expected.requests, errors: expected.errors, bytes: expected.bytes, accepted: valid.length, rejected: badValues.size, late: 0 });
      expect(await h.countBy('domain')).toEqual(expected.byDomain);
      // At-least-once: a dead letter sent before a kill and again after it has the same id.
      const letters = await eventually(
        () => h.deadLetters(),
        (all) => new Set(all.map((l) => l.id)).size >= badValues.size,
      );
      const byId = new Map<string, string>();
      for (const l of letters) {
        expect(l.group).toBe(h.group);
        expect(byId.get(l.id) ?? l.value).toBe(l.value);
        byId.set(l.id, l.value);
      }
      expect(byId.size).toBe(badValues.size);
      // Exactly the bad records, each once: none of the valid ones (those are all counted).
      expect(new Set(byId.values())).toEqual(badValues);
    } finally {
      await h.tearDown();
    }
  });
});
