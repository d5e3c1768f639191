// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('forecaster');

import { AddressInfo } from 'node:net';
import { contractTopicSpecs } from '@shardcast/contracts';
import { bootstrapService, createKafka, createLogger, ensureTopics, loadConfig } from '@shardcast/platform';
import { ForecasterConfigSchema } from './forecaster.config';
import { AppModule } from './app.module';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

async function main(): Promise<void> {
  const config = loadConfig(ForecasterConfigSchema);
  const logger = createLogger('forecaster', config.LOG_LEVEL);
  // Nest's Kafka server subscribes inside startAllMicroservices, before any module lifecycle hook
  // runs, and the broker does not auto-create topics: the contract topics must exist first.
  await ensureTopics(createKafka(config.KAFKA_BROKERS, 'forecaster-admin', logger), contractTopicSpecs(), config.KAFKA_TOPIC_PARTITIONS, config.KAFKA_TOPIC_PREFIX);
  const app = await bootstrapService({ name: 'forecaster', module: AppModule.register(config, logger), config, logger, kafkaGroupId: `${config.KAFKA_GROUP_PREFIX}-forecaster`,
    beforeListen: (nest) => {
      const document = SwaggerModule.createDocument(
        nest,
        new DocumentBuilder().setTitle('shardcast forecaster').setVersion('1').addApiKey({ type: 'apiKey', name: 'x-api-key', in: 'header' }, 'api-key').build(),
      );
      SwaggerModule.setup('docs', nest, document, { jsonDocumentUrl: 'docs/openapi.json' });
    },
  });
  logger.info({ port: (app.getHttpServer().address() as AddressInfo).port }, 'forecaster ready');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
