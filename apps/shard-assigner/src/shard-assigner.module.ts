import { DynamicModule, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { Topics } from '@shardcast/contracts';
import { createRedis, deployedTopic, ReadinessRegistry, ServiceInfraModule } from '@shardcast/platform';
import { ShardAssignerConfig } from './shard-assigner.config';
import { capacityPlanHandler } from './handlers/capacity-plan.handler';

/** Wires the shard-assigner: its database schema, its Redis, the broker, and the capacity.plan.v1 handler. */
@Module({})
export class ShardAssignerModule implements OnModuleInit, OnApplicationShutdown {
  static register(config: ShardAssignerConfig): DynamicModule {
    return {
      module: ShardAssignerModule,
      imports: [
        // No tables yet: the migration list starts empty; schema comes from migrations only.
        ServiceInfraModule.forService({ clientId: 'shard-assigner', brokers: config.KAFKA_BROKERS, databaseUrl: config.DATABASE_URL, schema: config.SHARD_ASSIGNER_DB_SCHEMA, migrations: [] }),
      ],
      controllers: [capacityPlanHandler(deployedTopic(config, Topics.capacityPlan))],
      providers: [
        {
          provide: Redis,
          useFactory: async () => {
            const redis = createRedis(config.REDIS_URL, config.SHARD_ASSIGNER_REDIS_KEY_PREFIX);
            await redis.connect();
            return redis;
          },
        },
      ],
    };
  }

  constructor(
    private readonly readiness: ReadinessRegistry,
    private readonly redis: Redis,
  ) {}

  onModuleInit(): void {
    this.readiness.register('redis', async () => {
      const reply = await this.redis.ping();
      if (reply !== 'PONG') throw new Error(`PING answered ${reply}`);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit();
  }
}
