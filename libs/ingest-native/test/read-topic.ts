import { kcat } from '@shardcast/test-stack';

/** Every message of a topic as kcat reads it: partition, key, value, in each partition's order. */
export async function readTopic(brokers: string, topic: string): Promise<Array<{ partition: number; key: string; value: string }>> {
  const out = await kcat(['-b', brokers, '-t', topic, '-C', '-e', '-q', '-o', 'beginning', '-f', '%p\t%k\t%s\n']);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [partition, key, value] = line.split('\t');
      return { partition: Number(partition), key, value };
    });
}
