import { DynamicModule, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { Topics } from '@shardcast/contracts';
import { createKafka, createRedis, createServiceDataSource, deployedTopic, Logger, openServiceDatabase, ReadinessRegistry, SERVICE_LOGGER } from '@shardcast/platform';
import { ShardAssignerConfig } from './shard-assigner.config';
import { capacityPlanHandler } from './handlers/capacity-plan.handler';

/** Wires the shard-assigner: its database schema, its Redis, the broker, and the capacity.plan.v1 handler. */
@Module({})
export class ShardAssignerModule implements OnModuleInit, OnApplicationShutdown {
  static register(config: ShardAssignerConfig): DynamicModule {
    return {
      module: ShardAssignerModule,
      controllers: [capacityPlanHandler(deployedTopic(config, Topics.capacityPlan))],
      providers: [
        {
          // Async providers resolve while Nest builds the app, before the Kafka transport delivers anything.
          provide: DataSource,
          useFactory: () =>
            // No tables yet: the migration list starts empty; schema comes from migrations only.
            openServiceDatabase(createServiceDataSource({ url: config.DATABASE_URL, schema: config.SHARD_ASSIGNER_DB_SCHEMA, migrations: [] }), config.SHARD_ASSIGNER_DB_SCHEMA),
        },
        {
          provide: Redis,
          useFactory: async () => {
            const redis = createRedis(config.REDIS_URL, config.SHARD_ASSIGNER_REDIS_KEY_PREFIX);
            await redis.connect();
            return redis;
          },
        },
        { provide: Kafka, useFactory: (logger: Logger) => createKafka(config.KAFKA_BROKERS, 'shard-assigner', logger), inject: [SERVICE_LOGGER] },
      ],
    };
  }

  constructor(
    private readonly readiness: ReadinessRegistry,
    private readonly db: DataSource,
    private readonly redis: Redis,
    private readonly kafka: Kafka,
  ) {}

  onModuleInit(): void {
    this.readiness.register('postgres', async () => void (await this.db.query('SELECT 1')));
    this.readiness.register('redis', async () => {
      const reply = await this.redis.ping();
      if (reply !== 'PONG') throw new Error(`PING answered ${reply}`);
    });
    this.readiness.register('kafka', async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      await admin.disconnect();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // Nest closes the Kafka transport before this hook, so no handler still needs these.
    await this.redis.quit();
    await this.db.destroy();
  }
}
