// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('shard-assigner');

import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { runService } from '@shardcast/platform';
import { ShardAssignerConfigSchema } from './shard-assigner.config';
import { ShardAssignerModule } from './shard-assigner.module';

runService({
  name: 'shard-assigner',
  configSchema: ShardAssignerConfigSchema,
  module: (config) => ShardAssignerModule.register(config),
  beforeListen: (app) => {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder().setTitle('shardcast shard-assigner').setVersion('1').addApiKey({ type: 'apiKey', name: 'x-api-key', in: 'header' }, 'api-key').build(),
    );
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  },
});
