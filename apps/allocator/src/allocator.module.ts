import { DynamicModule, Inject, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { Kafka, Producer } from 'kafkajs';
import { DataSource } from 'typeorm';
import { Topics } from '@shardcast/contracts';
import { DefaultAllocationPolicy, LatencyMatrix } from '@shardcast/allocation';
import { parseRegionTable } from '@shardcast/geo';
import { API_KEYS, ApiKeyGuard, deployedTopic, EventOutboxTable, Logger, OutboxRelay, SERVICE_LOGGER, ServiceInfraModule } from '@shardcast/platform';
import { AllocatorConfig } from './allocator.config';
import { AllocationTicker } from './allocation/allocation-ticker';
import { DomainAllocator } from './allocation/domain-allocator';
import { PoolsApiController } from './api/pools-api.controller';
import { PoolDriver, SimulatedPoolDriver } from './drivers/pool-driver';
import { WebhookPoolDriver } from './drivers/webhook-pool-driver';
import { demandForecastHandler } from './handlers/demand-forecast.handler';
import { demandObservedBatchHandler, demandObservedHandler } from './handlers/demand-observed.handler';
import { AllocationLedger } from './persistence/allocation-ledger';
import { allocatorMigrations } from './persistence/migrations';
import { readPoolsFile, seedPools } from './pools/pools-seed';

const CONFIG = Symbol('ALLOCATOR_CONFIG');
const PRODUCER = Symbol('ALLOCATOR_PRODUCER');
const POOL_DRIVER = Symbol('POOL_DRIVER');

/** Wires the allocator: ledger (pools seeded), decisions per event and per tick, plans through the outbox, the pool driver, the pools API. */
@Module({})
export class AllocatorModule implements OnApplicationBootstrap, OnApplicationShutdown {
  static register(config: AllocatorConfig): DynamicModule {
    // Read before anything connects: a bad seed file stops the service at once.
    const seed = config.ALLOCATOR_POOLS_FILE ? readPoolsFile(config.ALLOCATOR_POOLS_FILE) : [];
    return {
      module: AllocatorModule,
      imports: [
        ServiceInfraModule.forService({ clientId: 'allocator', brokers: config.KAFKA_BROKERS, databaseUrl: config.DATABASE_URL, schema: config.ALLOCATOR_DB_SCHEMA, migrations: allocatorMigrations }),
      ],
      controllers: [demandForecastHandler(deployedTopic(config, Topics.demandForecast)), demandObservedHandler(deployedTopic(config, Topics.demandObserved)),
        // Both topics: ingest's INGEST_DEMAND_OBSERVED_TOPICS decides which carries the buckets (decision 0022).
        demandObservedBatchHandler(deployedTopic(config, Topics.demandObservedV2)),
        PoolsApiController,
      ],
      providers: [
        { provide: CONFIG, useValue: config },
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
          useFactory: (db: DataSource, producer: Producer, logger: Logger) => new OutboxRelay(new EventOutboxTable(db, config.ALLOCATOR_DB_SCHEMA), producer, config.KAFKA_TOPIC_PREFIX, logger),
          inject: [DataSource, PRODUCER, SERVICE_LOGGER],
        },
        {
          // Seeded in the factory: Nest's Kafka transport delivers events before any lifecycle hook runs.
          provide: AllocationLedger,
          useFactory: async (db: DataSource, logger: Logger) => {
            const ledger = new AllocationLedger(db, config.ALLOCATOR_DB_SCHEMA);
            await seedPools(ledger, seed, logger);
            return ledger;
          },
          inject: [DataSource, SERVICE_LOGGER],
        },
        {
          provide: LatencyMatrix,
          useFactory: () => new LatencyMatrix(JSON.parse(readFileSync(config.ALLOCATOR_LATENCY_FILE, 'utf8')), parseRegionTable(readFileSync(config.ALLOCATOR_REGIONS_FILE, 'utf8'))),
        },
        {
          provide: POOL_DRIVER,
          useFactory: (logger: Logger): PoolDriver =>
            config.ALLOCATOR_POOL_DRIVER === 'webhook'
              ? new WebhookPoolDriver({ url: config.ALLOCATOR_WEBHOOK_URL!, timeoutMs: config.ALLOCATOR_WEBHOOK_TIMEOUT_MS, maxAttempts: config.ALLOCATOR_WEBHOOK_MAX_ATTEMPTS, backoffMs: config.ALLOCATOR_WEBHOOK_BACKOFF_MS }, logger)
              : new SimulatedPoolDriver(logger),
          inject: [SERVICE_LOGGER],
        },
        {
          provide: DomainAllocator,
          useFactory: (ledger: AllocationLedger, latency: LatencyMatrix, relay: OutboxRelay, driver: PoolDriver, logger: Logger) =>
            new DomainAllocator(ledger, latency, relay, driver, logger, config.ALLOCATOR_MAX_CONFLICT_RETRIES, { ...DefaultAllocationPolicy, budgetUtilisation: config.ALLOCATOR_BUDGET_UTILISATION, spendCeiling: config.ALLOCATOR_SPEND_CEILING, levelCorrectionTimeConstantMs: config.ALLOCATOR_LEVEL_CORRECTION_MINUTES }),
          inject: [AllocationLedger, LatencyMatrix, OutboxRelay, POOL_DRIVER, SERVICE_LOGGER],
        },
        {
          provide: AllocationTicker,
          useFactory: (ledger: AllocationLedger, allocator: DomainAllocator, logger: Logger) => new AllocationTicker(ledger, allocator, logger),
          inject: [AllocationLedger, DomainAllocator, SERVICE_LOGGER],
        },
        { provide: API_KEYS, useValue: { keys: config.ALLOCATOR_API_KEYS, variable: 'ALLOCATOR_API_KEYS' } },
        ApiKeyGuard,
      ],
    };
  }

  constructor(
    @Inject(PRODUCER) private readonly producer: Producer,
    private readonly relay: OutboxRelay,
    private readonly ticker: AllocationTicker,
    @Inject(CONFIG) private readonly config: AllocatorConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.relay.start(1_000);
    this.ticker.start(this.config.ALLOCATOR_TICK_INTERVAL_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    // Nest closes the Kafka transport before this hook, so no handler still needs these.
    await this.ticker.stop();
    await this.relay.stop();
    await this.producer.disconnect();
  }
}
