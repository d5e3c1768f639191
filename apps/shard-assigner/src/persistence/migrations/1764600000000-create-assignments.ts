import { MigrationInterface, QueryRunner } from 'typeorm';
import { outboxTableDdl } from '@shardcast/platform';

/**
 * Each domain's assignment state (shard set, latest plan, latest layout) behind a revision that
 * serialises instances; every layout ever published, by (domain, version), so one version has one
 * content; and the outbox shard.assigned.v1 goes out through, which may hold tombstones.
 */
export class CreateAssignments1764600000000 implements MigrationInterface {
  name = 'CreateAssignments1764600000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'shard_assigner';
    await q.query(`CREATE TABLE "${s}".domain_assignments (
      domain text PRIMARY KEY,
      revision integer NOT NULL,
      version integer NOT NULL,
      released boolean NOT NULL,
      state jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX domain_assignments_live ON "${s}".domain_assignments (domain) WHERE NOT released`);
    await q.query(`CREATE TABLE "${s}".layout_history (
      domain text NOT NULL,
      version integer NOT NULL,
      event_id text NOT NULL,
      layout json NOT NULL,
      published_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (domain, version))`);
    for (const ddl of outboxTableDdl(s)) await q.query(ddl);
    // As written (json, not jsonb: the bytes on the topic are the bytes stored), and tombstones.
    await q.query(`ALTER TABLE "${s}".outbox ALTER COLUMN payload TYPE json USING payload::json, ALTER COLUMN payload DROP NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'shard_assigner';
    for (const t of ['outbox', 'layout_history', 'domain_assignments']) await q.query(`DROP TABLE "${s}".${t}`);
  }
}
