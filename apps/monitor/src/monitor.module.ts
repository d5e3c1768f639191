import { DynamicModule, Module } from '@nestjs/common';
import { Topics } from '@shardcast/contracts';
import { deployedTopic, ServiceInfraModule } from '@shardcast/platform';
import { MonitorConfig } from './monitor.config';
import { shardAssignedHandler } from './handlers/shard-assigned.handler';

/** Wires the monitor: its database schema, the broker, and the shard.assigned.v1 handler. */
@Module({})
export class MonitorModule {
  static register(config: MonitorConfig): DynamicModule {
    return {
      module: MonitorModule,
      imports: [
        // No tables yet: the migration list starts empty; schema comes from migrations only.
        ServiceInfraModule.forService({ clientId: 'monitor', brokers: config.KAFKA_BROKERS, databaseUrl: config.DATABASE_URL, schema: config.MONITOR_DB_SCHEMA, migrations: [] }),
      ],
      controllers: [shardAssignedHandler(deployedTopic(config, Topics.shardAssigned))],
    };
  }
}
