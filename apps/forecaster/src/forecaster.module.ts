import { DynamicModule, Inject, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { Kafka, Producer } from 'kafkajs';
import { DataSource } from 'typeorm';
import { Topics } from '@shardcast/contracts';
import { ForecastWorkerPool } from '@shardcast/forecasting';
import { MarketMap, parseCountryCentroids, parseRegionTable } from '@shardcast/geo';
import { API_KEYS, ApiKeyGuard, deployedTopic, EventOutboxTable, HistoryJob, Logger, OutboxRelay, PostgresHistoryPartitions, SERVICE_LOGGER, ServiceInfraModule } from '@shardcast/platform';
import { ForecasterConfig, forecastConcurrency } from './forecaster.config';
import { demandObservedBatchHandler, demandObservedHandler } from './handlers/demand-observed.handler';
import { ObservedDemandRecorder } from './handlers/observed-demand-recorder';
import { domainRegisteredHandler } from './handlers/domain-registered.handler';
import { DomainRegistry } from './registration/domain-registry';
import { ForecasterStore } from './persistence/forecaster-store';
import { forecasterMigrations } from './persistence/migrations';
import { observedDemandTables } from './persistence/observed-demand-tables';
import { ForecastRunner, POOLED_WRITER_GRACE_MS } from './forecasting/forecast-runner';
import { ForecastScheduler } from './forecasting/forecast-scheduler';
import { ForecasterApiController } from './api/forecaster-api.controller';

const CONFIG = Symbol('FORECASTER_CONFIG');

/** Wires the forecaster: history store, model workers, scheduler, outbox relay, handler and API. */
@Module({})
export class ForecasterModule implements OnApplicationBootstrap, OnApplicationShutdown {
  static register(config: ForecasterConfig): DynamicModule {
    return {
      module: ForecasterModule,
      imports: [
        ServiceInfraModule.forService({
          clientId: 'forecaster',
          brokers: config.KAFKA_BROKERS,
          databaseUrl: config.DATABASE_URL,
          schema: config.FORECASTER_DB_SCHEMA,
          migrations: forecasterMigrations,
        }),
      ],
      controllers: [
        demandObservedHandler(deployedTopic(config, Topics.demandObserved)),
        // Both topics: ingest's INGEST_DEMAND_OBSERVED_TOPICS decides which carries the buckets (decision 0022).
        demandObservedBatchHandler(deployedTopic(config, Topics.demandObservedV2)),
        domainRegisteredHandler(deployedTopic(config, Topics.domainRegistered)),
        ForecasterApiController,
      ],
      providers: [
        { provide: CONFIG, useValue: config },
        {
          provide: ObservedDemandRecorder,
          useFactory: (store: ForecasterStore, scheduler: ForecastScheduler, logger: Logger) => new ObservedDemandRecorder(store, scheduler, logger),
          inject: [ForecasterStore, ForecastScheduler, SERVICE_LOGGER],
        },
        {
          provide: 'FORECASTER_PRODUCER',
          useFactory: async (kafka: Kafka) => {
            const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
            await producer.connect();
            return producer;
          },
          inject: [Kafka],
        },
        { provide: PostgresHistoryPartitions, useFactory: (db: DataSource) => new PostgresHistoryPartitions(db, observedDemandTables(config.FORECASTER_DB_SCHEMA)), inject: [DataSource] },
        {
          provide: HistoryJob,
          useFactory: (partitions: PostgresHistoryPartitions, logger: Logger) =>
            new HistoryJob(
              partitions,
              { createAheadDays: config.FORECASTER_HISTORY_CREATE_AHEAD_DAYS, rollUpAfterDays: config.FORECASTER_HISTORY_ROLLUP_AFTER_DAYS, retainDays: config.FORECASTER_HISTORY_RETAIN_DAYS },
              logger,
              `${config.FORECASTER_DB_SCHEMA}.observed_demand`,
            ),
          inject: [PostgresHistoryPartitions, SERVICE_LOGGER],
        },
        {
          provide: ForecasterStore,
          useFactory: (db: DataSource, partitions: PostgresHistoryPartitions) => new ForecasterStore(db, config.FORECASTER_DB_SCHEMA, partitions),
          inject: [DataSource, PostgresHistoryPartitions],
        },
        {
          provide: ForecastWorkerPool,
          useFactory: (logger: Logger) => {
            return new ForecastWorkerPool({ size: config.FORECAST_WORKERS, onModelLog: (kind, message) => logger.debug({ model: kind, message }, 'model log') });
          },
          inject: [SERVICE_LOGGER],
        },
        {
          provide: OutboxRelay,
          // The pooled tier hands its batches' events over (publishWritten); the poll leaves rows that
          // young to it, so they are not read back and sent twice. Everything else waits ≤ 3 s.
          useFactory: (db: DataSource, producer: Producer, logger: Logger) =>
            new OutboxRelay(new EventOutboxTable(db, config.FORECASTER_DB_SCHEMA), producer, config.KAFKA_TOPIC_PREFIX, logger, { writerGraceMs: POOLED_WRITER_GRACE_MS }),
          inject: [DataSource, 'FORECASTER_PRODUCER', SERVICE_LOGGER],
        },
        {
          provide: MarketMap,
          useFactory: () => new MarketMap(parseRegionTable(readFileSync(config.FORECAST_REGIONS_FILE, 'utf8')), parseCountryCentroids(readFileSync(config.FORECAST_COUNTRIES_FILE, 'utf8'))),
        },
        {
          provide: ForecastRunner,
          useFactory: (store: ForecasterStore, pool: ForecastWorkerPool, relay: OutboxRelay, markets: MarketMap, logger: Logger) => new ForecastRunner(store, pool, relay, markets, config, logger),
          inject: [ForecasterStore, ForecastWorkerPool, OutboxRelay, MarketMap, SERVICE_LOGGER],
        },
        {
          provide: ForecastScheduler,
          useFactory: (runner: ForecastRunner, store: ForecasterStore, pool: ForecastWorkerPool, logger: Logger) =>
            new ForecastScheduler(runner, store, config.FORECAST_DEBOUNCE_MS, config.FORECAST_INTERVAL_MS, logger, forecastConcurrency(config, pool.size)),
          inject: [ForecastRunner, ForecasterStore, ForecastWorkerPool, SERVICE_LOGGER],
        },
        {
          provide: DomainRegistry,
          useFactory: (store: ForecasterStore, scheduler: ForecastScheduler, markets: MarketMap, relay: OutboxRelay, logger: Logger) => new DomainRegistry(store, scheduler, markets, relay, logger),
          inject: [ForecasterStore, ForecastScheduler, MarketMap, OutboxRelay, SERVICE_LOGGER],
        },
        { provide: API_KEYS, useValue: { keys: config.FORECASTER_API_KEYS, variable: 'FORECASTER_API_KEYS' } },
        ApiKeyGuard,
      ],
    };
  }

  constructor(
    @Inject('FORECASTER_PRODUCER') private readonly producer: Producer,
    private readonly pool: ForecastWorkerPool,
    private readonly relay: OutboxRelay,
    private readonly scheduler: ForecastScheduler,
    private readonly store: ForecasterStore,
    private readonly historyJob: HistoryJob,
    @Inject(CONFIG) private readonly config: ForecasterConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.relay.start(1_000);
    // The backfill before the history job: a job run that sized its retention before the copy
    // (no data yet: today as its reference day) dropped the day partitions the copy had just made.
    let copied = 0;
    if (this.config.FORECASTER_BACKFILL_VIEW) {
      copied = await this.store.backfillFromView(this.config.FORECASTER_BACKFILL_VIEW, this.config.FORECAST_HISTORY_DAYS);
      this.logger.info({ view: this.config.FORECASTER_BACKFILL_VIEW, buckets: copied }, 'history backfilled');
    }
    this.historyJob.start(this.config.FORECASTER_HISTORY_JOB_INTERVAL_MS);
    this.scheduler.start();
    if (copied > 0) await this.scheduler.refreshAll();
  }

  async onApplicationShutdown(): Promise<void> {
    // Nest closes the Kafka transport before this hook, so no handler still needs these.
    await this.scheduler.stop();
    await this.historyJob.stop();
    await this.relay.stop();
    await this.pool.close();
    await this.producer.disconnect();
  }
}
