// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('allocator');

import { AddressInfo } from 'node:net';
import { contractTopicSpecs } from '@shardcast/contracts';
import { bootstrapService, createKafka, createLogger, ensureTopics, loadConfig } from '@shardcast/platform';
import { AllocatorConfigSchema } from './allocator.config';
import { AppModule } from './app.module';

async function main(): Promise<void> {
  const config = loadConfig(AllocatorConfigSchema);
  const logger = createLogger('allocator', config.LOG_LEVEL);
  // Nest's Kafka server subscribes inside startAllMicroservices, before any module lifecycle hook
  // runs, and the broker does not auto-create topics: the contract topics must exist first.
  await ensureTopics(createKafka(config.KAFKA_BROKERS, 'allocator-admin', logger), contractTopicSpecs(), config.KAFKA_TOPIC_PARTITIONS, config.KAFKA_TOPIC_PREFIX);
  const app = await bootstrapService({ name: 'allocator', module: AppModule.register(config, logger), config, logger, kafkaGroupId: `${config.KAFKA_GROUP_PREFIX}-allocator` });
  logger.info({ port: (app.getHttpServer().address() as AddressInfo).port }, 'allocator ready');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
