// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('shard-assigner');

import { AddressInfo } from 'node:net';
import { contractTopicSpecs } from '@shardcast/contracts';
import { bootstrapService, createKafka, createLogger, ensureTopics, loadConfig } from '@shardcast/platform';
import { ShardAssignerConfigSchema } from './shard-assigner.config';
import { AppModule } from './app.module';

async function main(): Promise<void> {
  const config = loadConfig(ShardAssignerConfigSchema);
  const logger = createLogger('shard-assigner', config.LOG_LEVEL);
  // Nest's Kafka server subscribes inside startAllMicroservices, before any module lifecycle hook
  // runs, and the broker does not auto-create topics: the contract topics must exist first.
  await ensureTopics(createKafka(config.KAFKA_BROKERS, 'shard-assigner-admin', logger), contractTopicSpecs(), config.KAFKA_TOPIC_PARTITIONS, config.KAFKA_TOPIC_PREFIX);
  const app = await bootstrapService({ name: 'shard-assigner', module: AppModule.register(config, logger), config, logger, kafkaGroupId: `${config.KAFKA_GROUP_PREFIX}-shard-assigner` });
  logger.info({ port: (app.getHttpServer().address() as AddressInfo).port }, 'shard-assigner ready');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
