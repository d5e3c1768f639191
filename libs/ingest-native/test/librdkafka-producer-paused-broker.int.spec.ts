import { pbkdf2 } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { uniqueName } from '@shardcast/test-stack';
import { createKafka } from '@shardcast/platform';
import { loadNativeTelemetryScanner } from '../src/native-telemetry-scanner';
import { LibrdkafkaProducer } from '../src';
import { PrivateKafkaBroker, startPrivateKafkaBroker } from './private-kafka-broker';
import { readTopic } from './read-topic';

/*
 * The producer's delivery reports are served by a thread of its own (docs/decisions/0017): while
 * a broker does not answer, no libuv pool thread waits for it, so ingest's C scans (on that pool)
 * go on. This broker is the test's own: pausing the shared one would stall everyone's tests.
 */
jest.setTimeout(240_000);

const POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
const PARTITIONS = 3;
const KEYS = ['a.example.com', 'b.example.com', 'c.example.com', 'd.example.com', 'e.example.com'];

let broker: PrivateKafkaBroker;
let topic: string;

beforeAll(async () => {
  broker = await startPrivateKafkaBroker();
  topic = uniqueName('paused-broker');
  const admin = createKafka([broker.address], 'paused-broker-test').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }] });
  await admin.disconnect();
});

afterAll(async () => {
  await broker?.stop();
});

/** seq, key and partition of every message of the topic, in each partition's order. */
async function readTopicSeqs(): Promise<Array<{ partition: number; key: string; seq: number }>> {
  return (await readTopic(broker.address, topic)).map(({ partition, key, value }) => ({ partition, key, seq: JSON.parse(value).seq as number }));
}

/** A page of messages numbered from `first`, keys round-robin. */
function page(first: number, size: number) {
  return Array.from({ length: size }, (_, i) => ({ key: KEYS[(first + i) % KEYS.length], value: JSON.stringify({ seq: first + i }) }));
}

/** Settles with how long `work` took; rejects when it takes longer than `limitMs`. */
function within<T>(limitMs: number, work: Promise<T>): Promise<number> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`not done within ${limitMs} ms`)), limitMs);
    work.then(
      () => {
        clearTimeout(timer);
        done(Date.now() - started);
      },
      (err) => {
        clearTimeout(timer);
        fail(err);
      },
    );
  });
}

/** Work that needs libuv's pool: pbkdf2 and the C telemetry scan, `count` of each at once. */
function poolWork(count: number): Promise<unknown> {
  const { scanner, error } = loadNativeTelemetryScanner();
  if (!scanner) throw new Error(error);
  const record = '{"domain":"app.example.com","timestamp":1397088000000,"client":{"lat":50.11,"lon":8.68},"status":200,"latencyMs":42.5,"bytes":5120}';
  const buffer = Buffer.from(record.repeat(2_000));
  const messages = Array.from({ length: 2_000 }, (_, i) => ({ valueBuffer: buffer, valueStart: i * record.length, valueEnd: (i + 1) * record.length }));
  const hashes = Array.from({ length: count }, () => new Promise((done, fail) => pbkdf2('secret', 'salt', 20_000, 32, 'sha256', (err, key) => (err ? fail(err) : done(key)))));
  const scans = Array.from({ length: count }, async () => {
    const scan = await scanner.scanPackedAsync(messages);
    if (scan?.kinds[0] !== 1) throw new Error('the scan did not answer');
  });
  return Promise.all([...hashes, ...scans]);
}

function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

describe('LibrdkafkaProducer against a broker paused mid-send (a private broker)', () => {
  it("keeps libuv's pool free while sends wait; after SIGCONT every send settles and every message is on the topic once, in order", async () => {
    const producer = new LibrdkafkaProducer({ brokers: [broker.address], clientId: 'paused-broker-test' });
    await producer.sendBatch({ topicMessages: [{ topic, messages: page(0, 100) }] }); // connected, metadata known

    // More sends in flight than the pool has threads: had each held a pool thread, nothing else could run.
    const sends = POOL_SIZE * 2;
    const PAGE = 500;
    const settled: boolean[] = [];
    const pending = Array.from({ length: sends }, (_, s) => {
      const sent = producer.sendBatch({ topicMessages: [{ topic, messages: page(100 + s * PAGE, PAGE) }] });
      if (s === 1) broker.pause(); // mid-send: the first pages may be on their way, the rest are not
      return sent.then(() => (settled[s] = true));
    });
    await new Promise((r) => setTimeout(r, 1_000));
    const stillWaiting = pending.length - settled.filter(Boolean).length;
    expect(stillWaiting).toBeGreaterThanOrEqual(POOL_SIZE);

    const poolMs = await within(20_000, poolWork(POOL_SIZE * 2));
    expect(pending.length - settled.filter(Boolean).length).toBe(stillWaiting); // the broker is still paused

    broker.resume();
    await within(60_000, Promise.all(pending));
    await producer.disconnect();

    const got = await readTopicSeqs();
    const expected = 100 + sends * PAGE;
    expect(got).toHaveLength(expected);
    expect(new Set(got.map((m) => m.seq)).size).toBe(expected);
    for (const key of KEYS) {
      const seqs = got.filter((m) => m.key === key).map((m) => m.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    // For the report: how long the pool work took with the broker paused.
    console.info(`pool work (${POOL_SIZE * 2} pbkdf2 + ${POOL_SIZE * 2} C scans) finished in ${poolMs} ms with ${stillWaiting} sends waiting on a paused broker`);
  });

  it('a close while sends wait for the paused broker waits for them, and both settle once it answers', async () => {
    const producer = new LibrdkafkaProducer({ brokers: [broker.address], clientId: 'paused-broker-close' });
    await producer.sendBatch({ topicMessages: [{ topic, messages: page(1_000_000, 10) }] });
    broker.pause();
    let sendSettled = false;
    let closeSettled = false;
    const sent = producer.sendBatch({ topicMessages: [{ topic, messages: page(1_000_010, 10) }] }).finally(() => (sendSettled = true));
    const closed = producer.disconnect().finally(() => (closeSettled = true));
    await new Promise((r) => setTimeout(r, 1_500));
    expect([sendSettled, closeSettled]).toEqual([false, false]);
    broker.resume();
    await within(30_000, Promise.all([sent, closed]));
    const seqs = (await readTopicSeqs()).map((m) => m.seq).filter((seq) => seq >= 1_000_000);
    expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 1_000_000 + i));
  });

  it('a producer dropped without close is destroyed when collected: its client and delivery thread end', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    await within(20_000, poolWork(POOL_SIZE)); // the pool's threads exist before counting
    const before = threadCount();
    await (async () => {
      const producer = new LibrdkafkaProducer({ brokers: [broker.address], clientId: 'paused-broker-dropped' });
      await producer.sendBatch({ topicMessages: [{ topic, messages: page(2_000_000, 10) }] });
      expect(threadCount()).toBeGreaterThan(before);
    })();
    const deadline = Date.now() + 30_000;
    while (threadCount() > before && Date.now() < deadline) {
      gc();
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(threadCount()).toBeLessThanOrEqual(before);
  });
});
