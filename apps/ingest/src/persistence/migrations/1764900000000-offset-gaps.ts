import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Offsets ingest never read: a partition's batch started past its stored next offset (retention
 * or DeleteRecords removed records before ingest read them, or the offset was reset). Written in
 * the same transaction as the batch that found the gap, so each gap is recorded exactly once.
 */
export class OffsetGaps1764900000000 implements MigrationInterface {
  name = 'OffsetGaps1764900000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    await q.query(`
      CREATE TABLE "${s}".offset_gaps (
        topic text NOT NULL,
        partition integer NOT NULL,
        from_offset bigint NOT NULL,
        to_offset bigint NOT NULL,
        count bigint NOT NULL,
        detected_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic, partition, from_offset),
        CHECK (to_offset >= from_offset AND count = to_offset - from_offset + 1)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    await q.query(`DROP TABLE "${s}".offset_gaps`);
  }
}
