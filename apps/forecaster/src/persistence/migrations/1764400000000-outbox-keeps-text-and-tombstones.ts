import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox stores each event's JSON as written (`json`: jsonb re-rendered it with a space after
 * every comma and colon, 3.5 KB more per forecast event on the topic) and may hold a tombstone
 * (no payload: API deregistrations on domain.registered.v1, docs/decisions/0025-api-registrations-on-the-topic.md).
 */
export class OutboxKeepsTextAndTombstones1764400000000 implements MigrationInterface {
  name = 'OutboxKeepsTextAndTombstones1764400000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    await q.query(`ALTER TABLE "${s}".outbox ALTER COLUMN payload TYPE json USING payload::json, ALTER COLUMN payload DROP NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    await q.query(`DELETE FROM "${s}".outbox WHERE payload IS NULL`);
    await q.query(`ALTER TABLE "${s}".outbox ALTER COLUMN payload TYPE jsonb USING payload::jsonb, ALTER COLUMN payload SET NOT NULL`);
  }
}
