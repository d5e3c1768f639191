import { MigrationInterface, QueryRunner } from 'typeorm';
import { outboxTableDdl } from '@shardcast/platform';

/**
 * Partition-scoped partial aggregates written in the same transaction as the partition's next
 * offset: the offset stored here, not Kafka's, decides what has been counted.
 */
export class CreateIngestTables1764000000000 implements MigrationInterface {
  name = 'CreateIngestTables1764000000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    await q.query(`
      CREATE TABLE "${s}".partition_progress (
        topic text NOT NULL,
        partition integer NOT NULL,
        next_offset bigint NOT NULL,
        max_event_time_ms bigint,
        accepted_records bigint NOT NULL DEFAULT 0,
        rejected_records bigint NOT NULL DEFAULT 0,
        late_records bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic, partition)
      )`);
    await q.query(`
      CREATE TABLE "${s}".partition_buckets (
        domain text NOT NULL,
        region text NOT NULL,
        bucket_start timestamptz NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        requests bigint NOT NULL,
        errors bigint NOT NULL,
        bytes bigint NOT NULL,
        latency_max_ms double precision NOT NULL,
        latency_sketch bytea NOT NULL,
        closed boolean NOT NULL DEFAULT false,
        PRIMARY KEY (domain, region, bucket_start, topic, partition)
      )`);
    await q.query(`CREATE INDEX partition_buckets_open ON "${s}".partition_buckets (topic, partition) WHERE NOT closed`);
    await q.query(`
      CREATE TABLE "${s}".demand_buckets (
        domain text NOT NULL,
        region text NOT NULL,
        bucket_start timestamptz NOT NULL,
        bucket_seconds integer NOT NULL,
        revision integer NOT NULL DEFAULT 0,
        requests bigint NOT NULL DEFAULT 0,
        errors bigint NOT NULL DEFAULT 0,
        bytes bigint NOT NULL DEFAULT 0,
        latency_p50_ms double precision NOT NULL DEFAULT 0,
        latency_p90_ms double precision NOT NULL DEFAULT 0,
        latency_p99_ms double precision NOT NULL DEFAULT 0,
        latency_max_ms double precision NOT NULL DEFAULT 0,
        latency_sketch bytea,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (domain, region, bucket_start)
      )`);
    for (const ddl of outboxTableDdl(s)) await q.query(ddl);
    // Contract view for other services (read-only): exact live totals, closed or not.
    await q.query(`
      CREATE VIEW "${s}".demand_history AS
      SELECT domain, region, bucket_start,
             sum(requests)::bigint AS requests, sum(errors)::bigint AS errors, sum(bytes)::bigint AS bytes,
             bool_and(closed) AS closed
      FROM "${s}".partition_buckets
      GROUP BY domain, region, bucket_start`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    await q.query(`DROP VIEW "${s}".demand_history`);
    for (const t of ['outbox', 'demand_buckets', 'partition_buckets', 'partition_progress']) await q.query(`DROP TABLE "${s}".${t}`);
  }
}
