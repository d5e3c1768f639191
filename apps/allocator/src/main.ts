// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('allocator');

import { runService } from '@shardcast/platform';
import { AllocatorConfigSchema } from './allocator.config';
import { AllocatorModule } from './allocator.module';

runService({ name: 'allocator', configSchema: AllocatorConfigSchema, module: (config) => AllocatorModule.register(config) });
