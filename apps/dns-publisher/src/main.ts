// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('dns-publisher');

import { runService } from '@shardcast/platform';
import { DnsPublisherConfigSchema } from './dns-publisher.config';
import { DnsPublisherModule } from './dns-publisher.module';

runService({ name: 'dns-publisher', configSchema: DnsPublisherConfigSchema, module: (config) => DnsPublisherModule.register(config) });
