import { MigrationInterface, QueryRunner } from 'typeorm';
import { outboxTableDdl } from '@shardcast/platform';

export class CreateForecasterTables1764100000000 implements MigrationInterface {
  name = 'CreateForecasterTables1764100000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    // History built from demand.observed.v1; a higher revision of a bucket replaces a lower one.
    await q.query(`
      CREATE TABLE "${s}".observed_demand (
        domain text NOT NULL,
        region text NOT NULL,
        bucket_start timestamptz NOT NULL,
        bucket_seconds integer NOT NULL,
        revision integer NOT NULL,
        requests bigint NOT NULL,
        errors bigint NOT NULL,
        bytes bigint NOT NULL,
        latency_p50_ms double precision NOT NULL,
        event_id text NOT NULL,
        PRIMARY KEY (domain, region, bucket_start)
      )`);
    await q.query(`
      CREATE TABLE "${s}".domain_profiles (
        domain text PRIMARY KEY,
        app_type text NOT NULL,
        tier text NOT NULL,
        cpu_ms double precision NOT NULL,
        memory_mb_per_concurrent double precision NOT NULL,
        bytes_out double precision NOT NULL,
        latency_ms double precision NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE "${s}".model_selections (
        domain text NOT NULL,
        region text NOT NULL,
        model text NOT NULL,
        mase double precision,
        baseline text NOT NULL,
        baseline_mase double precision,
        forecast_only boolean NOT NULL,
        confidence text NOT NULL,
        selected_at timestamptz NOT NULL,
        selection jsonb NOT NULL,
        PRIMARY KEY (domain, region)
      )`);
    await q.query(`
      CREATE TABLE "${s}".forecasts (
        domain text NOT NULL,
        region text NOT NULL,
        generated_at timestamptz NOT NULL,
        event_id text NOT NULL,
        payload jsonb NOT NULL,
        PRIMARY KEY (domain, region)
      )`);
    for (const ddl of outboxTableDdl(s)) await q.query(ddl);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    for (const t of ['outbox', 'forecasts', 'model_selections', 'domain_profiles', 'observed_demand']) await q.query(`DROP TABLE "${s}".${t}`);
  }
}
