import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { createKafka } from '@shardcast/platform';
import { LibrdkafkaProducer } from '../src';
import { readTopic } from './read-topic';

jest.setTimeout(120_000);

const env = stackEnv();
const kafka = createKafka(env.KAFKA_BROKERS.split(','), 'librdkafka-producer-test');
const PARTITIONS = 6;
const topic = uniqueName('producer-native');
const reference = uniqueName('producer-kafkajs');

const readAll = (name: string) => readTopic(env.KAFKA_BROKERS, name);

describe('LibrdkafkaProducer (real broker)', () => {
  const producer = new LibrdkafkaProducer({ brokers: env.KAFKA_BROKERS.split(','), clientId: 'producer-test' });
  const admin = kafka.admin();

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [topic, reference].map((t) => ({ topic: t, numPartitions: PARTITIONS, replicationFactor: 1 })) });
  });

  afterAll(async () => {
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic, reference] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('delivers every message once, in order per key, to the partition kafkajs picks for the key', async () => {
    const keys = Array.from({ length: 9 }, (_, i) => `app${i}.example.com`);
    const messages = Array.from({ length: 2_500 }, (_, i) => ({ key: keys[i % keys.length], value: JSON.stringify({ seq: i, text: 'é "quoted" \\ ✓' }) }));
    for (let page = 0; page < messages.length; page += 1_000) {
      await producer.sendBatch({ topicMessages: [{ topic, messages: messages.slice(page, page + 1_000) }] });
    }
    const kafkajs = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await kafkajs.connect();
    await kafkajs.send({ topic: reference, messages: keys.map((key) => ({ key, value: key })) });
    await kafkajs.disconnect();

    const got = await readAll(topic);
    expect(got).toHaveLength(messages.length);
    expect(new Set(got.map((m) => JSON.parse(m.value).seq)).size).toBe(messages.length);
    expect(got.find((m) => m.key === keys[0])?.value).toBe(messages[0].value);
    for (const key of keys) {
      const seqs = got.filter((m) => m.key === key).map((m) => JSON.parse(m.value).seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    const partitionOf = (list: Array<{ partition: number; key: string }>) => new Map(list.map((m) => [m.key, m.partition]));
    expect(partitionOf(got)).toEqual(partitionOf(await readAll(reference)));
  });

  it('rejects a send with the broker or client error, and keeps working after it', async () => {
    const tooLarge = 'x'.repeat(2_000_000); // over message.max.bytes
    await expect(producer.sendBatch({ topicMessages: [{ topic, messages: [{ key: 'k', value: 'fine' }, { key: 'k', value: tooLarge }] }] })).rejects.toThrow(/too large/i);
    const impatient = new LibrdkafkaProducer({ brokers: env.KAFKA_BROKERS.split(','), librdkafka: { 'message.timeout.ms': 2_000 } });
    await expect(impatient.sendBatch({ topicMessages: [{ topic: uniqueName('missing'), messages: [{ key: 'k', value: 'v' }] }] })).rejects.toThrow(/delivery to .* failed/);
    await impatient.disconnect();
    // A send waits for every delivery report: settings that would withhold one are refused or kept.
    expect(() => new LibrdkafkaProducer({ brokers: env.KAFKA_BROKERS.split(','), librdkafka: { 'message.timeout.ms': 0 } })).toThrow(/message.timeout.ms/);
    const before = (await readAll(topic)).length;
    await producer.sendBatch({ topicMessages: [{ topic, messages: [{ key: 'k', value: 'after' }] }] });
    expect((await readAll(topic)).length).toBe(before + 1);
  });
});
