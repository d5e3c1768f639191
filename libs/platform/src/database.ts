import { Client, ClientConfig } from 'pg';
import { DataSource, MixedList } from 'typeorm';
import type { Logger } from './logger';
import { CreateQuarantine1764800000000 } from './migrations/1764800000000-create-quarantine';

/** Tables every service's schema has, whatever its own migrations: the dead-letter quarantine. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const platformMigrations: Function[] = [CreateQuarantine1764800000000];

export interface ServiceDatabaseOptions {
  url: string;
  /** One PostgreSQL schema per service (docs/decisions/0005-one-database-one-schema-per-service.md). */
  schema: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: Function[];
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities?: MixedList<Function>;
  poolSize?: number;
}

/**
 * The pool's client class: one that always listens for its own 'error'. pg-pool stops listening
 * when it hands a client out, and TypeORM starts a microtask later; a new connection whose first
 * read holds both its ReadyForQuery and PostgreSQL's "terminating connection" (57P01, a restart
 * at that moment) emits the error in between, to nobody, and that crashes the process. Listening
 * here only keeps the process up: the client is marked unusable, its next query fails, and the
 * pool drops it when released (docs/decisions/0035-database-connection-errors.md).
 */
export class ListeningClient extends Client {
  /** Errors nobody else heard: counted, so a test can see them (and a metric could). */
  static unheardErrors = 0;

  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', () => {
      if (this.listenerCount('error') === 1) ListeningClient.unheardErrors++;
    });
  }
}

/**
 * A service's TypeORM data source. The schema comes from migrations, listed explicitly (globs
 * break under bundlers), never from `synchronize`.
 */
export function createServiceDataSource(options: ServiceDatabaseOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    entities: options.entities ?? [],
    migrations: [...options.migrations, ...platformMigrations],
    migrationsTableName: `${options.schema}_migrations`,
    migrationsRun: false,
    synchronize: false,
    extra: { max: options.poolSize ?? 10, application_name: options.schema, Client: ListeningClient },
  });
}

/**
 * Creates the service's schema if needed and applies pending migrations. Instances starting
 * together (a scale-out, a rollout) take turns under a session advisory lock per schema: two
 * concurrent `CREATE TABLE`s of one name fail on PostgreSQL's catalog (pg_type) instead of waiting.
 */
export async function openServiceDatabase(dataSource: DataSource, schema: string, logger?: Pick<Logger, 'info'>): Promise<DataSource> {
  // The lock holds one connection while the migrations take another: a pool of one would hang.
  const poolSize = (dataSource.options as { extra?: { max?: number } }).extra?.max ?? 10;
  if (poolSize < 2) throw new Error(`database pool size ${poolSize}: migrations need at least 2 connections`);
  if (!dataSource.isInitialized) await dataSource.initialize();
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    // Waiting is normal during a rollout (another instance is migrating); say so, never silently.
    const started = Date.now();
    for (let logged = 0; ; ) {
      const [{ locked }] = await lock.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [`shardcast:migrations:${schema}`]);
      if (locked) break;
      const waited = Date.now() - started;
      if (waited - logged >= 5_000) {
        logged = waited;
        logger?.info({ schema, waitedMs: waited }, 'waiting for another instance to finish migrating');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    try {
      await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '')}"`);
      await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [`shardcast:migrations:${schema}`]);
    }
  } finally {
    await lock.release();
  }
  return dataSource;
}
