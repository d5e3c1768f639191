// Sized to the cores before anything starts libuv's pool (see thread-pool.ts).
import './thread-pool';
// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('ingest');

import { runService } from '@shardcast/platform';
import { IngestConfigSchema } from './ingest.config';
import { IngestModule } from './ingest.module';

runService({
  name: 'ingest',
  configSchema: IngestConfigSchema,
  module: () => IngestModule,
  // The hot path has its own consumer group (INGEST_GROUP_ID); this one is the Nest transport's.
  kafkaGroupId: (config) => `${config.KAFKA_GROUP_PREFIX}-ingest-control`,
});
