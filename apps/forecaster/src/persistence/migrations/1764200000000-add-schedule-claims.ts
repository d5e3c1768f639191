import { MigrationInterface, QueryRunner } from 'typeorm';

/** Lets one instance of several claim a scheduled job per interval. */
export class AddScheduleClaims1764200000000 implements MigrationInterface {
  name = 'AddScheduleClaims1764200000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    await q.query(`CREATE TABLE "${s}".schedule_claims (job text PRIMARY KEY, claimed_at timestamptz NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    await q.query(`DROP TABLE "${s}".schedule_claims`);
  }
}
