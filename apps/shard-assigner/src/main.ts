// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('shard-assigner');

import { runService } from '@shardcast/platform';
import { ShardAssignerConfigSchema } from './shard-assigner.config';
import { ShardAssignerModule } from './shard-assigner.module';

runService({ name: 'shard-assigner', configSchema: ShardAssignerConfigSchema, module: (config) => ShardAssignerModule.register(config) });
