// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('dns-publisher');

import { AddressInfo } from 'node:net';
import { contractTopicSpecs } from '@shardcast/contracts';
import { bootstrapService, createKafka, createLogger, ensureTopics, loadConfig } from '@shardcast/platform';
import { DnsPublisherConfigSchema } from './dns-publisher.config';
import { AppModule } from './app.module';

async function main(): Promise<void> {
  const config = loadConfig(DnsPublisherConfigSchema);
  const logger = createLogger('dns-publisher', config.LOG_LEVEL);
  // Nest's Kafka server subscribes inside startAllMicroservices, before any module lifecycle hook
  // runs, and the broker does not auto-create topics: the contract topics must exist first.
  await ensureTopics(createKafka(config.KAFKA_BROKERS, 'dns-publisher-admin', logger), contractTopicSpecs(), config.KAFKA_TOPIC_PARTITIONS, config.KAFKA_TOPIC_PREFIX);
  const app = await bootstrapService({ name: 'dns-publisher', module: AppModule.register(config, logger), config, logger, kafkaGroupId: `${config.KAFKA_GROUP_PREFIX}-dns-publisher` });
  logger.info({ port: (app.getHttpServer().address() as AddressInfo).port }, 'dns-publisher ready');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
