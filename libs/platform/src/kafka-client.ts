import { Admin, Kafka, logLevel, LogEntry } from 'kafkajs';
import { TopicSpec } from '@shardcast/contracts';
import { registerCompressionCodecs } from './compression-codecs';
import type { Logger } from './logger';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafka(brokers: string[], clientId: string, logger?: Logger): Kafka {
  registerCompressionCodecs();
  // We pick partitions by key with the default partitioner; the v2 migration notice is noise.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    retry: { retries: 8, initialRetryTime: 200 },
    logCreator: () => (entry: LogEntry) => {
      if (!logger) return;
      const { message, ...rest } = entry.log;
      logger[LEVELS[entry.level] ?? 'info']({ kafka: entry.namespace, ...rest }, message);
    },
  });
}

/**
 * Creates missing topics (existing ones are left as they are). Safe to race with other services.
 * A broker that has just restarted answers "does not host this topic-partition" while it loads
 * its logs: retriable errors are retried for up to `timeoutMs`. Returns only once the broker's
 * metadata serves every topic asked for with a leader per partition: kafkajs' `waitForLeaders`
 * retries only "leader not available", and a KRaft broker can still answer "unknown topic" for a
 * moment after creating it, which failed a consumer's subscribe right after this returned.
 * Returns the topics missing when it first listed them: a creation that timed out after the broker
 * made the topics (a retriable error) is not a topic that existed before.
 */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[], partitions: number, prefix = '', timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let missingAtFirst: string[] | undefined;
  for (;;) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const missing = await missingTopics(admin, specs, prefix);
      missingAtFirst ??= missing.map((s) => prefix + s.name);
      if (missing.length > 0) await createTopics(admin, missing, partitions, prefix);
      if (await topicsServed(admin, specs.map((s) => prefix + s.name))) return missingAtFirst;
      if (Date.now() > deadline) throw new Error(`topics not served with leaders within ${timeoutMs} ms`);
    } catch (err) {
      if (!(err as { retriable?: boolean }).retriable || Date.now() > deadline) throw err;
    } finally {
      await admin.disconnect();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function topicsServed(admin: Admin, topics: string[]): Promise<boolean> {
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
  return topics.every((name) => {
    const topic = metadata.find((t) => t.name === name);
    return topic !== undefined && topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0);
  });
}

async function missingTopics(admin: Admin, specs: TopicSpec[], prefix: string): Promise<TopicSpec[]> {
  const existing = new Set(await admin.listTopics());
  return specs.filter((s) => !existing.has(prefix + s.name));
}

async function createTopics(admin: Admin, missing: TopicSpec[], partitions: number, prefix: string): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((s) => ({
      topic: prefix + s.name,
      numPartitions: partitions,
      replicationFactor: -1,
      configEntries: [
        ...(s.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
        ...(s.retentionMs !== undefined ? [{ name: 'retention.ms', value: String(s.retentionMs) }] : []),
        ...(s.maxMessageBytes !== undefined ? [{ name: 'max.message.bytes', value: String(s.maxMessageBytes) }] : []),
      ],
    })),
  });
}
