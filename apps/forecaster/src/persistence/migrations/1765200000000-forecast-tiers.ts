import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The forecaster's tiers (docs/decisions/0032-forecast-tiers.md): series_tiers, each series' tier
 * and the volume it was ranked by (requests over the last day of its history, written by its
 * forecast run), so the next pass ranks every series without reading its history; pooled_tier,
 * the pooled tier's learnt shapes and calibrations (one JSON row), so a restart keeps them.
 */
export class ForecastTiers1765200000000 implements MigrationInterface {
  name = 'ForecastTiers1765200000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    await q.query(`CREATE TABLE "${s}".series_tiers (domain text NOT NULL, region text NOT NULL, tier text NOT NULL, volume double precision NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (domain, region))`);
    await q.query(`CREATE TABLE "${s}".pooled_tier (name text PRIMARY KEY, state jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    await q.query(`DROP TABLE "${s}".pooled_tier`);
    await q.query(`DROP TABLE "${s}".series_tiers`);
  }
}
