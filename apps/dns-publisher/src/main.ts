// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('dns-publisher');

import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { runService } from '@shardcast/platform';
import { DnsPublisherConfigSchema } from './dns-publisher.config';
import { DnsPublisherModule } from './dns-publisher.module';

runService({
  name: 'dns-publisher',
  configSchema: DnsPublisherConfigSchema,
  module: (config) => DnsPublisherModule.register(config),
  beforeListen: (app) => {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder().setTitle('shardcast dns-publisher').setVersion('1').addApiKey({ type: 'apiKey', name: 'x-api-key', in: 'header' }, 'api-key').build(),
    );
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  },
});
