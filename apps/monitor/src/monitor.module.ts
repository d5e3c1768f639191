import { DynamicModule, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { Topics } from '@shardcast/contracts';
import { createKafka, createServiceDataSource, deployedTopic, Logger, openServiceDatabase, ReadinessRegistry, SERVICE_LOGGER } from '@shardcast/platform';
import { MonitorConfig } from './monitor.config';
import { shardAssignedHandler } from './handlers/shard-assigned.handler';

/** Wires the monitor: its database schema, the broker, and the shard.assigned.v1 handler. */
@Module({})
export class MonitorModule implements OnModuleInit, OnApplicationShutdown {
  static register(config: MonitorConfig): DynamicModule {
    return {
      module: MonitorModule,
      controllers: [shardAssignedHandler(deployedTopic(config, Topics.shardAssigned))],
      providers: [
        {
          // Async providers resolve while Nest builds the app, before the Kafka transport delivers anything.
          provide: DataSource,
          useFactory: () =>
            // No tables yet: the migration list starts empty; schema comes from migrations only.
            openServiceDatabase(createServiceDataSource({ url: config.DATABASE_URL, schema: config.MONITOR_DB_SCHEMA, migrations: [] }), config.MONITOR_DB_SCHEMA),
        },
        { provide: Kafka, useFactory: (logger: Logger) => createKafka(config.KAFKA_BROKERS, 'monitor', logger), inject: [SERVICE_LOGGER] },
      ],
    };
  }

  constructor(
    private readonly readiness: ReadinessRegistry,
    private readonly db: DataSource,
    private readonly kafka: Kafka,
  ) {}

  onModuleInit(): void {
    this.readiness.register('postgres', async () => void (await this.db.query('SELECT 1')));
    this.readiness.register('kafka', async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      await admin.disconnect();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // Nest closes the Kafka transport before this hook, so no handler still needs these.
    await this.db.destroy();
  }
}
