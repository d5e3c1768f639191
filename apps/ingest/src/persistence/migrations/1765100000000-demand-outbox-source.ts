import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A demand_outbox row names the commit it belongs to, so the poll can rebuild that commit's
 * `demand.observed.v2` events (decision 0022): the source partition, its offsets before and after
 * the commit (-1 before: its first commit), and where the commit's bucket list was cut into
 * chunks (exclusive ends). Rows written before this have none of it: the poll sends them on
 * `demand.observed.v1` only.
 */
export class DemandOutboxSource1765100000000 implements MigrationInterface {
  name = 'DemandOutboxSource1765100000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    await q.query(`
      ALTER TABLE "${s}".demand_outbox
        ADD COLUMN source_topic text,
        ADD COLUMN source_partition integer,
        ADD COLUMN from_offset bigint,
        ADD COLUMN commit_offset bigint,
        ADD COLUMN chunk_ends integer[]`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    await q.query(`
      ALTER TABLE "${s}".demand_outbox
        DROP COLUMN source_topic, DROP COLUMN source_partition, DROP COLUMN from_offset, DROP COLUMN commit_offset, DROP COLUMN chunk_ends`);
  }
}
