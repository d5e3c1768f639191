// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('forecaster');

import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { runService } from '@shardcast/platform';
import { ForecasterConfigSchema } from './forecaster.config';
import { ForecasterModule } from './forecaster.module';

runService({
  name: 'forecaster',
  configSchema: ForecasterConfigSchema,
  module: (config) => ForecasterModule.register(config),
  beforeListen: (app) => {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder().setTitle('shardcast forecaster').setVersion('1').addApiKey({ type: 'apiKey', name: 'x-api-key', in: 'header' }, 'api-key').build(),
    );
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  },
});
