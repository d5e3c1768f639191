// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('ingest');

import { bootstrapService, createLogger, loadConfig } from '@shardcast/platform';
import { IngestConfigSchema } from './ingest.config';
import { AppModule } from './app.module';

async function main(): Promise<void> {
  const config = loadConfig(IngestConfigSchema);
  const logger = createLogger('ingest', config.LOG_LEVEL);
  await bootstrapService({ name: 'ingest', module: AppModule.register(config, logger) , config, logger, kafkaGroupId: `${config.KAFKA_GROUP_PREFIX}-ingest-control` });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
