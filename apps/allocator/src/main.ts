// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('allocator');

import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { runService } from '@shardcast/platform';
import { AllocatorConfigSchema } from './allocator.config';
import { AllocatorModule } from './allocator.module';

runService({
  name: 'allocator',
  configSchema: AllocatorConfigSchema,
  module: (config) => AllocatorModule.register(config),
  beforeListen: (app) => {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder().setTitle('shardcast allocator').setVersion('1').addApiKey({ type: 'apiKey', name: 'x-api-key', in: 'header' }, 'api-key').build(),
    );
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  },
});
