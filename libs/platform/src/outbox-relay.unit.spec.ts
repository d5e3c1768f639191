import { createLogger } from './logger';
import { OutboxEvent, OutboxMessage, OutboxRelay, OutboxTable } from './outbox-relay';

/** Records what the relay asks of a table; the poll is not under test here. */
class RecordingTable implements OutboxTable {
  readonly name = 'test.outbox';
  readonly deleted: string[][] = [];
  /** The rows each poll was told to skip. */
  readonly skipped: string[][] = [];
  async drainOnce(_send: (events: OutboxEvent[]) => Promise<void>, _limit: number, _graceMs: number, skip: readonly string[] = []): Promise<number> {
    this.skipped.push([...skip]);
    return 0;
  }
  async deleteRows(rows: readonly string[]): Promise<void> {
    this.deleted.push([...rows]);
  }
}

/**
 * A producer that records each request's values and fails the requests whose number is listed;
 * `sent(n)` resolves once n requests were made (stop() would end the send loop before later rounds).
 */
function producer(failRequests: number[]) {
  const requests: string[][] = [];
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  return {
    requests,
    sent: (n: number) => new Promise<void>((resolve) => (requests.length >= n ? resolve() : waiting.push({ n, resolve }))),
    async sendBatch(batch: { topicMessages: Array<{ topic: string; messages: Array<{ key: string; value: string }> }> }) {
      requests.push(batch.topicMessages.flatMap((t) => t.messages.map((m) => m.value.slice(0, 2))));
      for (const w of waiting) if (requests.length >= w.n) w.resolve();
      if (failRequests.includes(requests.length)) throw new Error('broker unavailable');
    },
  };
}

// 300 kB each: two fit in a 768 kB page.
const message = (id: string): OutboxMessage => ({ eventId: id, topic: 't', key: 'k', payload: id + 'x'.repeat(300_000) });

describe('OutboxRelay.publishWritten', () => {
  const logger = createLogger('outbox-relay-unit', 'silent');

  it('sends the units handed over in pages, in order, and deletes each unit’s rows once all of it is sent', async () => {
    const table = new RecordingTable();
    const kafka = producer([]);
    const relay = new OutboxRelay(table, kafka, '', logger);
    // The first unit goes at once (pages [a1 a2] [a3]); the rest together in the next round ([b1 c1]).
    relay.publishWritten([message('a1'), message('a2'), message('a3')], ['row-a']);
    relay.publishWritten([message('b1')], ['row-b']);
    relay.publishWritten([], ['row-empty']); // a commit that published nothing still has its row deleted
    relay.publishWritten([message('c1')], ['row-c']);
    await kafka.sent(3);
    await relay.stop();
    expect(kafka.requests).toEqual([['a1', 'a2'], ['a3'], ['b1', 'c1']]);
    expect(table.deleted).toEqual([['row-a'], ['row-b', 'row-empty', 'row-c']]);
  });

  it('keeps the rows of a unit whose messages were not all sent, and of every unit after it, for the poll', async () => {
    const table = new RecordingTable();
    const kafka = producer([4]);
    const relay = new OutboxRelay(table, kafka, '', logger);
    relay.publishWritten([message('x1')], ['row-x']); // round 1: [x1]
    // Round 2: [a1 a2] and [b1 b2] sent, [b3 c1] fails: b was only partly sent, c not at all.
    relay.publishWritten([message('a1'), message('a2')], ['row-a']);
    relay.publishWritten([message('b1'), message('b2'), message('b3')], ['row-b']);
    relay.publishWritten([message('c1')], ['row-c']);
    await kafka.sent(4);
    await relay.stop();
    expect(kafka.requests).toEqual([['x1'], ['a1', 'a2'], ['b1', 'b2'], ['b3', 'c1']]);
    expect(table.deleted).toEqual([['row-x'], ['row-a']]);
  });


  it('has its poll skip the rows it is still sending, and take them back once their sends have settled (sent or failed)', async () => {
    const table = new RecordingTable();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    let secondSend!: () => void;
    const secondSent = new Promise<void>((resolve) => (secondSend = resolve));
    const kafka = {
      async sendBatch() {
        calls++;
        if (calls === 1) await held; // the first unit's send is slow (a catch-up commit)
        if (calls === 2) {
          secondSend();
          throw new Error('broker unavailable');
        }
      },
    };
    const relay = new OutboxRelay(table, kafka, '', logger);
    relay.publishWritten([message('a1')], ['row-a']);
    relay.publishWritten([message('b1')], ['row-b']);
    await relay.drainOnce();
    expect(table.skipped.at(-1)!.sort()).toEqual(['row-a', 'row-b']);
    release();
    await secondSent;
    await relay.stop(); // waits for the send in progress: a1 sent (row deleted), b1 failed (its row left to the poll)
    expect(table.deleted).toEqual([['row-a']]);
    await relay.drainOnce();
    expect(table.skipped.at(-1)).toEqual([]);
  });
});
