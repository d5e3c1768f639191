// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('monitor');

import { runService } from '@shardcast/platform';
import { MonitorConfigSchema } from './monitor.config';
import { AppModule } from './app.module';

runService({ name: 'monitor', configSchema: MonitorConfigSchema, module: (config, logger) => AppModule.register(config, logger) });
