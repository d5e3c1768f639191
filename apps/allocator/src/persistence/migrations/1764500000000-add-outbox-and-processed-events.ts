import { MigrationInterface, QueryRunner } from 'typeorm';
import { outboxTableDdl } from '@shardcast/platform';

/**
 * The outbox capacity.plan.v1 is published through (written in the decision's transaction), and the
 * events already applied: a redelivered event finds its id here and reserves nothing twice.
 */
export class AddOutboxAndProcessedEvents1764500000000 implements MigrationInterface {
  name = 'AddOutboxAndProcessedEvents1764500000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'allocator';
    for (const ddl of outboxTableDdl(s)) await q.query(ddl);
    await q.query(`CREATE TABLE "${s}".processed_events (event_id text PRIMARY KEY, domain text NOT NULL, processed_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX processed_events_age ON "${s}".processed_events (processed_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'allocator';
    for (const t of ['processed_events', 'outbox']) await q.query(`DROP TABLE "${s}".${t}`);
  }
}
