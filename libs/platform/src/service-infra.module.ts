import { DynamicModule, Inject, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { DEAD_LETTER_PUBLISHER, SERVICE_LOGGER } from './contract-event-gate';
import { DeadLetterPublisher } from './dead-letter-publisher';
import { PostgresQuarantine } from './quarantine-table';
import { createServiceDataSource, openServiceDatabase } from './database';
import { createKafka } from './kafka-client';
import type { Logger } from './logger';
import { ReadinessRegistry } from './readiness';

export interface ServiceInfraOptions {
  clientId: string;
  brokers: string[];
  databaseUrl: string;
  /** The service's own PostgreSQL schema. */
  schema: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: Function[];
}

/**
 * A service's database (its schema, migrated) and Kafka client as Nest providers, with their
 * readiness checks. The database opens while Nest builds the app, before the Kafka transport
 * delivers anything to a handler.
 */
const SERVICE_SCHEMA = Symbol('SERVICE_SCHEMA');

@Module({})
export class ServiceInfraModule implements OnModuleInit, OnApplicationShutdown {
  static forService(options: ServiceInfraOptions): DynamicModule {
    return {
      module: ServiceInfraModule,
      providers: [
        {
          provide: DataSource,
          useFactory: (logger: Logger) =>
            openServiceDatabase(createServiceDataSource({ url: options.databaseUrl, schema: options.schema, migrations: options.migrations }), options.schema, logger),
          inject: [SERVICE_LOGGER],
        },
        { provide: Kafka, useFactory: (logger: Logger) => createKafka(options.brokers, options.clientId, logger), inject: [SERVICE_LOGGER] },
        { provide: SERVICE_SCHEMA, useValue: options.schema },
      ],
      exports: [DataSource, Kafka],
    };
  }

  constructor(
    private readonly readiness: ReadinessRegistry,
    private readonly db: DataSource,
    private readonly kafka: Kafka,
    @Inject(SERVICE_SCHEMA) private readonly schema: string,
    @Inject(DEAD_LETTER_PUBLISHER) private readonly deadLetters: DeadLetterPublisher,
  ) {}

  onModuleInit(): void {
    // A dead letter its topic refuses goes to this service's quarantine table.
    this.deadLetters.useQuarantine(new PostgresQuarantine(this.db, this.schema));
    this.readiness.register('postgres', async () => void (await this.db.query('SELECT 1')));
    this.readiness.register('kafka', async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      await admin.disconnect();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.db.isInitialized) await this.db.destroy();
  }
}
