/** Creates the contract topics and their DLQs if missing (called by `npm run stack:up`). */
import { contractTopicSpecs } from '@shardcast/contracts';
import { loadConfig, PlatformConfigSchema } from '../src/config';
import { createKafka, ensureTopics } from '../src/kafka-client';

async function main(): Promise<void> {
  const config = loadConfig(PlatformConfigSchema.extend({ HTTP_PORT: PlatformConfigSchema.shape.HTTP_PORT.default(0) }));
  const created = await ensureTopics(createKafka(config.KAFKA_BROKERS, 'shardcast-stack'), contractTopicSpecs(), config.KAFKA_TOPIC_PARTITIONS, config.KAFKA_TOPIC_PREFIX);
  console.log(created.length ? `[stack] created topics: ${created.join(', ')}` : '[stack] contract topics already exist');
}

main().catch((err) => {
  console.error(`[stack] could not create topics: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
