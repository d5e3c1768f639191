import { contractTopicSpecs } from '@shardcast/contracts';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { createKafka, ensureTopics } from '@shardcast/platform';

const env = stackEnv();

// A consumer subscribed right after ensureTopics once met "does not host this topic-partition":
// the broker had created the topics but did not serve them yet. Each round asks a fresh client's
// first metadata request for every topic at once, as a consumer's subscribe does.
describe('ensureTopics (real Kafka)', () => {
  const kafka = createKafka(env.KAFKA_BROKERS.split(','), 'ensure-topics-test');
  const prefixes: string[] = [];

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    const names = prefixes.flatMap((prefix) => contractTopicSpecs().map((s) => prefix + s.name));
    await admin.deleteTopics({ topics: names }).catch(() => undefined);
    await admin.disconnect();
  });

  it('returns only when every topic is served with a leader per partition, and is idempotent', async () => {
    for (let round = 0; round < 4; round++) {
      const prefix = `${uniqueName('ensure')}.`;
      prefixes.push(prefix);
      const names = contractTopicSpecs().map((s) => prefix + s.name);
      expect((await ensureTopics(kafka, contractTopicSpecs(), 3, prefix)).sort()).toEqual([...names].sort());

      const fresh = createKafka(env.KAFKA_BROKERS.split(','), `ensure-topics-check-${round}`);
      const admin = fresh.admin({ retry: { retries: 0 } });
      await admin.connect();
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: names });
        expect(topics.map((t) => t.name).sort()).toEqual([...names].sort());
        for (const topic of topics) {
          expect(topic.partitions).toHaveLength(3);
          for (const partition of topic.partitions) expect(partition.leader).toBeGreaterThanOrEqual(0);
        }
      } finally {
        await admin.disconnect();
      }
      expect(await ensureTopics(kafka, contractTopicSpecs(), 3, prefix)).toEqual([]);
    }
  });
});
