import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every service's schema gets a quarantine: the dead letters that could not be written to their
 * dead-letter topic (refused as too large, topic missing, not authorised), with why.
 */
export class CreateQuarantine1764800000000 implements MigrationInterface {
  name = 'CreateQuarantine1764800000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'public';
    await q.query(`
      CREATE TABLE "${s}".quarantined_messages (
        id bigserial PRIMARY KEY,
        quarantined_at timestamptz NOT NULL DEFAULT now(),
        dead_letter_id text NOT NULL UNIQUE,
        consumer_group text NOT NULL,
        source_topic text NOT NULL,
        source_partition integer NOT NULL,
        source_offset bigint NOT NULL,
        record_index integer,
        error_code text NOT NULL,
        error_reason text NOT NULL,
        quarantine_reason text NOT NULL,
        message_key bytea,
        message_value bytea,
        value_bytes bigint NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'public';
    await q.query(`DROP TABLE "${s}".quarantined_messages`);
  }
}
