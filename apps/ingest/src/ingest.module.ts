import { readFileSync } from 'node:fs';
import { Inject, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Kafka, Producer } from 'kafkajs';
import { DataSource } from 'typeorm';
import { contractTopicSpecs, Topics } from '@shardcast/contracts';
import {
  createKafka,
  createServiceDataSource,
  DeadLetterPublisher,
  HistoryJob,
  PostgresHistoryPartitions,
  PostgresQuarantine,
  deployedTopic,
  ensureTopics,
  Logger,
  openServiceDatabase,
  OutboxRelay,
  BatchConsumer,
  ConsumerFailures,
  PartitionBatchConsumer,
  Reachability,
  ReadinessRegistry,
  SERVICE_CONFIG,
  SERVICE_LOGGER,
} from '@shardcast/platform';
import { LibrdkafkaBatchConsumer, LibrdkafkaProducer, loadLibrdkafkaConsumer, loadNativeTelemetryScanner } from '@shardcast/ingest-native';
import { EndOffsetWatch, idleCloseVerdict, PackedTelemetryScanner, parseRegionTable, RegionLocator, selectRegions } from '@shardcast/telemetry';
import { idleClosePolicyOf, IngestConfig } from './ingest.config';
import { TelemetryRequestsHandler } from './handlers/telemetry-requests.handler';
import { PostgresDemandStore } from './persistence/postgres-demand-store';
import { DemandOutboxTable } from './persistence/demand-outbox';
import { demandHistoryTables } from './persistence/demand-history-tables';
import { ingestMigrations } from './persistence/migrations';

/** The events' producedBy: the writer's and the outbox poll's must match (the poll rebuilds events). */
const PRODUCED_BY = 'ingest';

/** Wires ingest: the hot-path batch consumer, its store, the DLQ and the outbox relay. */
@Module({})
export class IngestModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private db?: DataSource;
  private kafka?: Kafka;
  private producer?: Producer;
  private consumer?: BatchConsumer;
  private relay?: OutboxRelay;
  /** The relay's producer on librdkafka, when ingest consumes on it (else the kafkajs producer). */
  private relayProducer?: LibrdkafkaProducer;
  private idleTimer?: NodeJS.Timeout;
  private historyJob?: HistoryJob;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: IngestConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    private readonly readiness: ReadinessRegistry,
    private readonly failures: ConsumerFailures,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    const regions = selectRegions(parseRegionTable(readFileSync(c.REGIONS_FILE, 'utf8')), c.REGIONS);
    const locator = new RegionLocator(regions, new Map(Object.entries(c.POPS)));
    this.db = await openServiceDatabase(
      createServiceDataSource({ url: c.DATABASE_URL, schema: c.INGEST_DB_SCHEMA, migrations: ingestMigrations, poolSize: c.INGEST_PARTITIONS_CONCURRENCY + 3 }),
      c.INGEST_DB_SCHEMA,
      this.logger,
    );
    this.kafka = createKafka(c.KAFKA_BROKERS, 'shardcast-ingest', this.logger);
    await ensureTopics(this.kafka, contractTopicSpecs(), c.KAFKA_TOPIC_PARTITIONS, c.KAFKA_TOPIC_PREFIX);
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    const client = this.chooseClient();
    // demand.observed.v1 carries an event per closed bucket: kafkajs would encode them on the event loop.
    if (client === 'librdkafka') this.relayProducer = new LibrdkafkaProducer({ brokers: c.KAFKA_BROKERS, clientId: 'shardcast-ingest-outbox' });
    const outbox = new DemandOutboxTable(this.db, c.INGEST_DB_SCHEMA, PRODUCED_BY, c.INGEST_DEMAND_OBSERVED_TOPICS);
    this.relay = new OutboxRelay(outbox, this.relayProducer ?? this.producer, c.KAFKA_TOPIC_PREFIX, this.logger, {
      writerGraceMs: c.INGEST_OUTBOX_WRITER_GRACE_MS,
    });
    const scanner = this.chooseScanner();
    const partitions = new PostgresHistoryPartitions(this.db, demandHistoryTables(c.INGEST_DB_SCHEMA));
    const retention = { createAheadDays: c.INGEST_HISTORY_CREATE_AHEAD_DAYS, rollUpAfterDays: c.INGEST_HISTORY_ROLLUP_AFTER_DAYS, retainDays: c.INGEST_HISTORY_RETAIN_DAYS };
    this.historyJob = new HistoryJob(partitions, retention, this.logger, `${c.INGEST_DB_SCHEMA}.demand_buckets`);
    const store = new PostgresDemandStore(this.db, c.INGEST_DB_SCHEMA, PRODUCED_BY, partitions, c.INGEST_DEMAND_OBSERVED_TOPICS);
    const groupId = c.INGEST_GROUP_ID ?? `${c.KAFKA_GROUP_PREFIX}-ingest`;
    const deadLetters = new DeadLetterPublisher(this.producer, groupId, this.logger);
    deadLetters.useQuarantine(new PostgresQuarantine(this.db, c.INGEST_DB_SCHEMA));
    const handler = new TelemetryRequestsHandler(
      store,
      deadLetters,
      this.relay,
      locator,
      { allowedLatenessMs: c.INGEST_ALLOWED_LATENESS_MS, maxFutureSkewMs: c.INGEST_MAX_FUTURE_SKEW_MS, maxOpenBuckets: c.INGEST_MAX_OPEN_BUCKETS },
      this.logger,
      scanner,
      this.failures,
    );
    const topic = deployedTopic(c, Topics.telemetryRequests);
    this.consumer =
      client === 'librdkafka'
        ? new LibrdkafkaBatchConsumer(
            { brokers: c.KAFKA_BROKERS, clientId: 'shardcast-ingest', groupId, topic, maxBatchMessages: c.INGEST_MAX_BATCH_MESSAGES, maxBytesPerPartition: c.INGEST_MAX_BYTES_PER_PARTITION, sessionTimeoutMs: c.INGEST_SESSION_TIMEOUT_MS },
            handler,
            this.logger,
          )
        : new PartitionBatchConsumer(
            this.kafka,
            { groupId, topic, partitionsConsumedConcurrently: c.INGEST_PARTITIONS_CONCURRENCY, maxBytesPerPartition: c.INGEST_MAX_BYTES_PER_PARTITION, sessionTimeoutMs: c.INGEST_SESSION_TIMEOUT_MS },
            handler,
            this.logger,
          );
    const db = this.db;
    this.readiness.register('postgres', async () => void (await db.query('SELECT 1')));
    this.readiness.register('kafka', async () => {
      const admin = this.kafka!.admin();
      await admin.connect();
      await admin.disconnect();
    });
    this.relay.start(c.INGEST_OUTBOX_POLL_MS);
    // Not awaited: a first run may have days to roll up; a commit that finds no partition makes it.
    this.historyJob.start(c.INGEST_HISTORY_JOB_INTERVAL_MS);
    // A partition that received nothing because the broker could not be reached is not idle: its
    // backlog is waiting, and closing its buckets would make that backlog late. Buckets close only
    // once the broker has answered for the whole idle window (a probe on every tick), and only on
    // partitions that have read up to the end offset the probe read (a starved process is not
    // idle either: idle-close.ts in libs/telemetry).
    const kafka = this.kafka;
    const ends = new EndOffsetWatch();
    const idlePolicy = idleClosePolicyOf(c);
    const broker = new Reachability(async () => {
      const admin = kafka.admin({ retry: { retries: 0 } });
      await admin.connect();
      try {
        const read = await admin.fetchTopicOffsets(topic);
        ends.observe(new Map(read.map((p) => [`${topic}:${p.partition}`, BigInt(p.high)])), Date.now());
      } finally {
        await admin.disconnect();
      }
    });
    this.idleTimer = setInterval(() => {
      (async () => {
        if (!(await broker.check()) || broker.reachableForMs() < c.INGEST_IDLE_CLOSE_MS) return;
        const now = Date.now();
        await handler.closeIdlePartitions(c.INGEST_IDLE_CLOSE_MS, now, (p) => idleCloseVerdict({ idleForMs: p.idleForMs, nextOffset: p.nextOffset, ...ends.endOf(p.id, now) }, idlePolicy));
      })().catch((err) => this.logger.warn({ err }, 'idle close failed; will retry'));
    }, Math.max(100, Math.min(5_000, Math.floor(c.INGEST_IDLE_CLOSE_MS / 2))));
    this.idleTimer.unref();
    await this.consumer.start();
    this.logger.info({ topic, regions: regions.length, kafkaClient: client, telemetryScanner: scanner ? 'native' : 'typescript' }, 'ingest consuming');
  }

  private chooseScanner(): PackedTelemetryScanner | undefined {
    const wanted = this.config.INGEST_TELEMETRY_SCANNER;
    if (wanted === 'typescript') return undefined;
    const { scanner, error } = loadNativeTelemetryScanner();
    if (scanner) return scanner;
    if (wanted === 'native') throw new Error(`INGEST_TELEMETRY_SCANNER=native: ${error}`);
    this.logger.warn({ reason: error }, 'native telemetry scanner unavailable; ingest scans in TypeScript');
    return undefined;
  }

  private chooseClient(): 'librdkafka' | 'kafkajs' {
    const wanted = this.config.INGEST_KAFKA_CLIENT;
    if (wanted === 'kafkajs') return 'kafkajs';
    const { error } = loadLibrdkafkaConsumer();
    if (!error) return 'librdkafka';
    if (wanted === 'librdkafka') throw new Error(`INGEST_KAFKA_CLIENT=librdkafka: ${error}`);
    this.logger.warn({ reason: error }, 'native librdkafka consumer unavailable; ingest uses kafkajs (about half the throughput)');
    return 'kafkajs';
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.idleTimer);
    await this.historyJob?.stop();
    await this.consumer?.stop();
    await this.relay?.stop();
    await this.relayProducer?.disconnect();
    await this.producer?.disconnect();
    await this.db?.destroy();
  }
}
