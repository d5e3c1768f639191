import { DataSource, MixedList } from 'typeorm';

export interface ServiceDatabaseOptions {
  url: string;
  /** One PostgreSQL schema per service (DECISIONS.md). */
  schema: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities?: MixedList<Function>;
  poolSize?: number;
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
    migrations: options.migrations,
    migrationsTableName: `${options.schema}_migrations`,
    migrationsRun: false,
    synchronize: false,
    extra: { max: options.poolSize ?? 10, application_name: options.schema },
  });
}

/** Creates the service's schema if needed and applies pending migrations. */
export async function openServiceDatabase(dataSource: DataSource, schema: string): Promise<DataSource> {
  if (!dataSource.isInitialized) await dataSource.initialize();
  await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '')}"`);
  await dataSource.runMigrations({ transaction: 'each' });
  return dataSource;
}
