import { MigrationInterface, QueryRunner } from 'typeorm';
import { createDayPartitions } from '@shardcast/platform';

/**
 * observed_demand becomes range-partitioned by bucket_start, one partition per UTC day, with an
 * hourly twin the history job rolls old days up into, and history_rollups, where the job marks how
 * far it has rolled up (docs/decisions/0023-bounded-demand-history.md). Existing rows are copied
 * into partitions made for the days they fall on.
 */
export class PartitionedObservedDemand1765000000000 implements MigrationInterface {
  name = 'PartitionedObservedDemand1765000000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    // An instance of the previous version may still be recording: its rows wait for the copy.
    await q.query(`LOCK TABLE "${s}".observed_demand IN EXCLUSIVE MODE`);
    await q.query(`ALTER TABLE "${s}".observed_demand RENAME TO observed_demand_unpartitioned`);
    await q.query(`ALTER TABLE "${s}".observed_demand_unpartitioned RENAME CONSTRAINT observed_demand_pkey TO observed_demand_unpartitioned_pkey`);
    await q.query(`
      CREATE TABLE "${s}".observed_demand (
        domain text NOT NULL,
        region text NOT NULL,
        bucket_start timestamptz NOT NULL,
        bucket_seconds integer NOT NULL,
        revision integer NOT NULL,
        requests bigint NOT NULL,
        errors bigint NOT NULL,
        bytes bigint NOT NULL,
        latency_p50_ms double precision NOT NULL,
        event_id text NOT NULL,
        PRIMARY KEY (domain, region, bucket_start)
      ) PARTITION BY RANGE (bucket_start)`);
    // Exact counts; latency_p50_ms is the requests-weighted mean of the minutes' (what history() averages anyway).
    await q.query(`
      CREATE TABLE "${s}".observed_demand_hourly (
        domain text NOT NULL,
        region text NOT NULL,
        bucket_start timestamptz NOT NULL,
        requests bigint NOT NULL,
        errors bigint NOT NULL,
        bytes bigint NOT NULL,
        latency_p50_ms double precision NOT NULL,
        PRIMARY KEY (domain, region, bucket_start)
      ) PARTITION BY RANGE (bucket_start)`);
    await q.query(`CREATE TABLE "${s}".history_rollups (history text PRIMARY KEY, rolled_up_before timestamptz NOT NULL)`);
    await createDayPartitions(q, s, 'observed_demand', 'observed_demand_unpartitioned');
    await q.query(`INSERT INTO "${s}".observed_demand SELECT * FROM "${s}".observed_demand_unpartitioned`);
    await q.query(`DROP TABLE "${s}".observed_demand_unpartitioned`);
  }

  /** Back to one table; rolled-up hours stay hourly rows in it (bucket_seconds 3600, revision 0). */
  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'forecaster';
    await q.query(`ALTER TABLE "${s}".observed_demand RENAME TO observed_demand_partitioned`);
    await q.query(`ALTER TABLE "${s}".observed_demand_partitioned RENAME CONSTRAINT observed_demand_pkey TO observed_demand_partitioned_pkey`);
    await q.query(`CREATE TABLE "${s}".observed_demand (LIKE "${s}".observed_demand_partitioned, PRIMARY KEY (domain, region, bucket_start))`);
    await q.query(`INSERT INTO "${s}".observed_demand SELECT * FROM "${s}".observed_demand_partitioned`);
    await q.query(`
      INSERT INTO "${s}".observed_demand (domain, region, bucket_start, bucket_seconds, revision, requests, errors, bytes, latency_p50_ms, event_id)
      SELECT domain, region, bucket_start, 3600, 0, requests, errors, bytes, latency_p50_ms, 'rolled-up' FROM "${s}".observed_demand_hourly`);
    await q.query(`DROP TABLE "${s}".observed_demand_partitioned, "${s}".observed_demand_hourly, "${s}".history_rollups`);
  }
}
