// OpenTelemetry first: it patches pg, http and ioredis as they load.
import { startTelemetry } from '@shardcast/platform/otel';
startTelemetry('monitor');

import { runService } from '@shardcast/platform';
import { MonitorConfigSchema } from './monitor.config';
import { MonitorModule } from './monitor.module';

runService({ name: 'monitor', configSchema: MonitorConfigSchema, module: (config) => MonitorModule.register(config) });
