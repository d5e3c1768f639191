import type { Admin, Kafka } from 'kafkajs';
import { ensureTopics } from './kafka-client';

/** A broker's admin API in memory, whose first createTopics makes the topics and then times out (a retriable error), as a slow broker's can. */
function slowBroker(): { kafka: Kafka; creates: string[][] } {
  const topics = new Set<string>();
  const creates: string[][] = [];
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    listTopics: async () => [...topics],
    createTopics: async ({ topics: asked }: { topics: Array<{ topic: string }> }) => {
      creates.push(asked.map((t) => t.topic));
      for (const t of asked) topics.add(t.topic);
      if (creates.length === 1) throw Object.assign(new Error('The request timed out'), { retriable: true });
      return true;
    },
    fetchTopicMetadata: async ({ topics: names }: { topics: string[] }) => ({
      topics: names.filter((n) => topics.has(n)).map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1 }] })),
    }),
  } as unknown as Admin;
  return { kafka: { admin: () => admin } as unknown as Kafka, creates };
}

describe('ensureTopics', () => {
  it('returns the topics missing at its first listing, also when the creation that made them timed out and was retried', async () => {
    const broker = slowBroker();
    const specs = [{ name: 'a.v1', compacted: false }, { name: 'b.v1', compacted: true }];
    expect((await ensureTopics(broker.kafka, specs, 3, 'p.')).sort()).toEqual(['p.a.v1', 'p.b.v1']);
    expect(broker.creates).toEqual([['p.a.v1', 'p.b.v1']]); // the retry found them made: nothing created twice
    expect(await ensureTopics(broker.kafka, specs, 3, 'p.')).toEqual([]);
  });
});
