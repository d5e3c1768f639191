import { DynamicModule, Inject, Module, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { Kafka, Producer } from 'kafkajs';
import { DataSource } from 'typeorm';
import { Tier, Topics } from '@shardcast/contracts';
import { LatencyMatrix } from '@shardcast/allocation';
import { parseRegionTable } from '@shardcast/geo';
import { AssignmentPolicy, checkRegionSlugs, DEFAULT_ASSIGNMENT_POLICY } from '@shardcast/placement';
import { API_KEYS, ApiKeyGuard, createRedis, deployedTopic, EventOutboxTable, Logger, OutboxRelay, ReadinessRegistry, SERVICE_LOGGER, ServiceInfraModule } from '@shardcast/platform';
import { ShardAssignerConfig } from './shard-assigner.config';
import { capacityPlanHandler } from './handlers/capacity-plan.handler';
import { ShardsApiController } from './api/shards-api.controller';
import { AssignmentTicker } from './assignment/assignment-ticker';
import { DomainAssigner } from './assignment/domain-assigner';
import { LayoutCache, rebuildLayoutCache } from './cache/layout-cache';
import { AssignmentStore } from './persistence/assignment-store';
import { shardAssignerMigrations } from './persistence/migrations';

const CONFIG = Symbol('SHARD_ASSIGNER_CONFIG');
const PRODUCER = Symbol('SHARD_ASSIGNER_PRODUCER');

/** The assignment policy the configuration describes; throws on one no deployment should run. */
export function assignmentPolicy(config: ShardAssignerConfig): AssignmentPolicy {
  const slugs = config.SHARD_ASSIGNER_REGION_SLUGS;
  const problems = checkRegionSlugs(Object.keys(slugs), slugs);
  if (problems.length > 0) throw new Error(`SHARD_ASSIGNER_REGION_SLUGS: ${problems.map((p) => `${p.code}: ${p.reason}`).join('; ')}`);
  const d = DEFAULT_ASSIGNMENT_POLICY;
  return {
    ...d,
    slugs,
    ranking: { ...d.ranking, shardCount: { ...d.ranking.shardCount, ...(config.SHARD_ASSIGNER_SHARD_COUNTS as Partial<Record<Tier, number>>) } },
    shardSet: { margin: config.SHARD_ASSIGNER_MARGIN, dwellMs: config.SHARD_ASSIGNER_DWELL_MS, warmupMs: config.SHARD_ASSIGNER_WARMUP_MS, drainMs: config.SHARD_ASSIGNER_DRAIN_MS },
  };
}

/**
 * Wires the shard-assigner: capacity plans in, decisions per plan and per tick, layouts through the
 * outbox onto shard.assigned.v1, PostgreSQL for state and history, Redis for the API's latest layouts.
 */
@Module({})
export class ShardAssignerModule implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  static register(config: ShardAssignerConfig): DynamicModule {
    // Checked before anything connects: a bad slug configuration stops the service at once.
    const policy = assignmentPolicy(config);
    return {
      module: ShardAssignerModule,
      imports: [
        ServiceInfraModule.forService({ clientId: 'shard-assigner', brokers: config.KAFKA_BROKERS, databaseUrl: config.DATABASE_URL, schema: config.SHARD_ASSIGNER_DB_SCHEMA, migrations: shardAssignerMigrations }),
      ],
      controllers: [capacityPlanHandler(deployedTopic(config, Topics.capacityPlan)), ShardsApiController],
      providers: [
        { provide: CONFIG, useValue: config },
        {
          provide: Redis,
          useFactory: async () => {
            const redis = createRedis(config.REDIS_URL, config.SHARD_ASSIGNER_REDIS_KEY_PREFIX);
            await redis.connect();
            return redis;
          },
        },
        {
          provide: PRODUCER,
          useFactory: async (kafka: Kafka) => {
            const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
            await producer.connect();
            return producer;
          },
          inject: [Kafka],
        },
        {
          provide: OutboxRelay,
          useFactory: (db: DataSource, producer: Producer, logger: Logger) => new OutboxRelay(new EventOutboxTable(db, config.SHARD_ASSIGNER_DB_SCHEMA), producer, config.KAFKA_TOPIC_PREFIX, logger),
          inject: [DataSource, PRODUCER, SERVICE_LOGGER],
        },
        { provide: AssignmentStore, useFactory: (db: DataSource) => new AssignmentStore(db, config.SHARD_ASSIGNER_DB_SCHEMA), inject: [DataSource] },
        {
          // Rebuilt in the factory: Nest's Kafka transport delivers events before any lifecycle hook runs,
          // and a layout written by a handler must not be overwritten by an older one from the rebuild
          // (the cache's put never moves a version back, so the order is safe either way).
          provide: LayoutCache,
          useFactory: async (redis: Redis, store: AssignmentStore, logger: Logger) => {
            const cache = new LayoutCache(redis);
            await rebuildLayoutCache(store, cache, logger);
            return cache;
          },
          inject: [Redis, AssignmentStore, SERVICE_LOGGER],
        },
        {
          provide: LatencyMatrix,
          useFactory: () => new LatencyMatrix(JSON.parse(readFileSync(config.SHARD_ASSIGNER_LATENCY_FILE, 'utf8')), parseRegionTable(readFileSync(config.SHARD_ASSIGNER_REGIONS_FILE, 'utf8'))),
        },
        {
          provide: DomainAssigner,
          useFactory: (store: AssignmentStore, cache: LayoutCache, relay: OutboxRelay, latency: LatencyMatrix, logger: Logger) =>
            new DomainAssigner(store, cache, relay, latency, policy, logger, config.SHARD_ASSIGNER_MAX_CONFLICT_RETRIES),
          inject: [AssignmentStore, LayoutCache, OutboxRelay, LatencyMatrix, SERVICE_LOGGER],
        },
        {
          provide: AssignmentTicker,
          useFactory: (store: AssignmentStore, assigner: DomainAssigner, logger: Logger) => new AssignmentTicker(store, assigner, logger),
          inject: [AssignmentStore, DomainAssigner, SERVICE_LOGGER],
        },
        { provide: API_KEYS, useValue: { keys: config.SHARD_ASSIGNER_API_KEYS, variable: 'SHARD_ASSIGNER_API_KEYS' } },
        ApiKeyGuard,
      ],
    };
  }

  constructor(
    private readonly readiness: ReadinessRegistry,
    private readonly redis: Redis,
    @Inject(PRODUCER) private readonly producer: Producer,
    private readonly relay: OutboxRelay,
    private readonly ticker: AssignmentTicker,
    @Inject(CONFIG) private readonly config: ShardAssignerConfig,
  ) {}

  onModuleInit(): void {
    this.readiness.register('redis', async () => {
      const reply = await this.redis.ping();
      if (reply !== 'PONG') throw new Error(`PING answered ${reply}`);
    });
  }

  onApplicationBootstrap(): void {
    this.relay.start(1_000);
    this.ticker.start(this.config.SHARD_ASSIGNER_TICK_INTERVAL_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    // Nest closes the Kafka transport before this hook, so no handler still needs these.
    await this.ticker.stop();
    await this.relay.stop();
    await this.producer.disconnect();
    await this.redis.quit();
  }
}
