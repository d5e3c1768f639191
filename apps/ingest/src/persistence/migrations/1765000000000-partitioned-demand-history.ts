import { MigrationInterface, QueryRunner } from 'typeorm';
import { createDayPartitions } from '@shardcast/platform';

/**
 * demand_buckets becomes range-partitioned by bucket_start, one partition per UTC day, and gets an
 * hourly twin, demand_buckets_hourly, that the history job rolls old days up into
 * (docs/decisions/0023-bounded-demand-history.md). Existing rows are copied into partitions made
 * for the days they fall on. The contract view demand_history reads both, with each row's width.
 */
export class PartitionedDemandHistory1765000000000 implements MigrationInterface {
  name = 'PartitionedDemandHistory1765000000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    // An instance of the previous version may still be writing: its rows wait for the copy.
    await q.query(`LOCK TABLE "${s}".demand_buckets IN EXCLUSIVE MODE`);
    await q.query(`DROP VIEW "${s}".demand_history`);
    await q.query(`ALTER TABLE "${s}".demand_buckets RENAME TO demand_buckets_unpartitioned`);
    await q.query(`ALTER TABLE "${s}".demand_buckets_unpartitioned RENAME CONSTRAINT demand_buckets_pkey TO demand_buckets_unpartitioned_pkey`);
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
      ) PARTITION BY RANGE (bucket_start)`);
    // Counts exact as in demand_buckets; latency keeps its max (a percentile of an hour needs the sketches, which are not kept).
    await q.query(`
      CREATE TABLE "${s}".demand_buckets_hourly (
        domain text NOT NULL,
        region text NOT NULL,
        bucket_start timestamptz NOT NULL,
        requests bigint NOT NULL,
        errors bigint NOT NULL,
        bytes bigint NOT NULL,
        latency_max_ms double precision NOT NULL,
        PRIMARY KEY (domain, region, bucket_start)
      ) PARTITION BY RANGE (bucket_start)`);
    await createDayPartitions(q, s, 'demand_buckets', 'demand_buckets_unpartitioned');
    await q.query(`INSERT INTO "${s}".demand_buckets SELECT * FROM "${s}".demand_buckets_unpartitioned`);
    await q.query(`DROP TABLE "${s}".demand_buckets_unpartitioned`);
    // Contract view for other services (read-only): exact live totals, closed or not; a bucket is
    // closed when no partition holds an open share of it. Rolled-up hours have bucket_seconds 3600.
    await q.query(`
      CREATE VIEW "${s}".demand_history AS
      SELECT domain, region, bucket_start,
             sum(requests)::bigint AS requests, sum(errors)::bigint AS errors, sum(bytes)::bigint AS bytes,
             bool_and(closed) AS closed, max(bucket_seconds) AS bucket_seconds
      FROM (SELECT domain, region, bucket_start, requests, errors, bytes, true AS closed, bucket_seconds FROM "${s}".demand_buckets
            UNION ALL
            SELECT domain, region, bucket_start, requests, errors, bytes, false, 60 FROM "${s}".partition_buckets
            UNION ALL
            SELECT domain, region, bucket_start, requests, errors, bytes, true, 3600 FROM "${s}".demand_buckets_hourly) shares
      GROUP BY domain, region, bucket_start`);
  }

  /** Back to one table; rolled-up hours stay hourly rows in it (bucket_seconds 3600). */
  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    await q.query(`DROP VIEW "${s}".demand_history`);
    await q.query(`ALTER TABLE "${s}".demand_buckets RENAME TO demand_buckets_partitioned`);
    await q.query(`ALTER TABLE "${s}".demand_buckets_partitioned RENAME CONSTRAINT demand_buckets_pkey TO demand_buckets_partitioned_pkey`);
    await q.query(`CREATE TABLE "${s}".demand_buckets (LIKE "${s}".demand_buckets_partitioned INCLUDING DEFAULTS, PRIMARY KEY (domain, region, bucket_start))`);
    await q.query(`INSERT INTO "${s}".demand_buckets SELECT * FROM "${s}".demand_buckets_partitioned`);
    await q.query(`
      INSERT INTO "${s}".demand_buckets (domain, region, bucket_start, bucket_seconds, requests, errors, bytes, latency_max_ms)
      SELECT domain, region, bucket_start, 3600, requests, errors, bytes, latency_max_ms FROM "${s}".demand_buckets_hourly`);
    await q.query(`DROP TABLE "${s}".demand_buckets_partitioned, "${s}".demand_buckets_hourly`);
    await q.query(`
      CREATE VIEW "${s}".demand_history AS
      SELECT domain, region, bucket_start,
             sum(requests)::bigint AS requests, sum(errors)::bigint AS errors, sum(bytes)::bigint AS bytes,
             bool_and(closed) AS closed
      FROM (SELECT domain, region, bucket_start, requests, errors, bytes, true AS closed FROM "${s}".demand_buckets
            UNION ALL
            SELECT domain, region, bucket_start, requests, errors, bytes, false FROM "${s}".partition_buckets) shares
      GROUP BY domain, region, bucket_start`);
  }
}
