import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A stored forecast's payload as `json` (its text as written) rather than `jsonb`: jsonb parsed
 * every ~10 kB payload (576 steps × 6 quantiles) into numerics on write, the largest part of
 * PostgreSQL's cost of a pooled batch (docs/decisions/0032-forecast-tiers.md). Nothing queries
 * into it; readers get the same object back.
 */
export class ForecastPayloadJson1765300000000 implements MigrationInterface {
  name = 'ForecastPayloadJson1765300000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    await q.query(`ALTER TABLE "${s}".forecasts ALTER COLUMN payload TYPE json USING payload::json`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    await q.query(`ALTER TABLE "${s}".forecasts ALTER COLUMN payload TYPE jsonb USING payload::jsonb`);
  }
}
