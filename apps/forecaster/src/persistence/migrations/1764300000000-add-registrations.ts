import { MigrationInterface, QueryRunner } from 'typeorm';

/** Registrations (API or domain.registered.v1), their market regions, learnt daily shapes, deregistrations. */
export class AddRegistrations1764300000000 implements MigrationInterface {
  name = 'AddRegistrations1764300000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    await q.query(`CREATE TABLE "${s}".registrations (domain text PRIMARY KEY, registration jsonb NOT NULL, event_id text, updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE TABLE "${s}".registered_regions (domain text NOT NULL, region text NOT NULL, share double precision NOT NULL, PRIMARY KEY (domain, region))`);
    await q.query(`CREATE TABLE "${s}".deregistered_domains (domain text PRIMARY KEY, deregistered_at timestamptz NOT NULL)`);
    await q.query(
      `CREATE TABLE "${s}".daily_shapes (domain text NOT NULL, region text NOT NULL, app_type text NOT NULL, shape jsonb NOT NULL, days double precision NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (domain, region))`,
    );
    await q.query(`CREATE INDEX daily_shapes_app_type ON "${s}".daily_shapes (app_type, days DESC)`);
    await q.query(`ALTER TABLE "${s}".forecasts ADD COLUMN published_at timestamptz NOT NULL DEFAULT now()`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    await q.query(`ALTER TABLE "${s}".forecasts DROP COLUMN published_at`);
    for (const t of ['daily_shapes', 'deregistered_domains', 'registered_regions', 'registrations']) await q.query(`DROP TABLE "${s}".${t}`);
  }
}
