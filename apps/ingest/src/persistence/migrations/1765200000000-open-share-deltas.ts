import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A partition's open shares are stored as one row per commit (the shares it changed and the keys
 * it evicted, as arrays) instead of a row per share, upserted on every commit and deleted at close
 * (decision 0037). partition_buckets becomes a view of the same rows as before: for each key the
 * latest delta's share, unless that delta evicted it or the partition has closed its minute
 * (`partition_progress.closed_up_to`). Existing open shares become one delta per partition.
 */
export class OpenShareDeltas1765200000000 implements MigrationInterface {
  name = 'OpenShareDeltas1765200000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    const demandHistory = await dropDemandHistoryView(q, s);
    await q.query(`ALTER TABLE "${s}".partition_progress ADD COLUMN closed_up_to timestamptz`);
    await q.query(`
      CREATE TABLE "${s}".partition_open_deltas (
        topic text NOT NULL,
        partition integer NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        last_bucket_start timestamptz NOT NULL,
        domains text[] NOT NULL,
        regions text[] NOT NULL,
        bucket_starts timestamptz[] NOT NULL,
        requests bigint[] NOT NULL,
        errors bigint[] NOT NULL,
        bytes bigint[] NOT NULL,
        latency_max_ms double precision[] NOT NULL,
        latency_sketches bytea NOT NULL,
        sketch_starts integer[] NOT NULL,
        sketch_lengths integer[] NOT NULL,
        evicted_domains text[] NOT NULL,
        evicted_regions text[] NOT NULL,
        evicted_bucket_starts timestamptz[] NOT NULL,
        PRIMARY KEY (topic, partition, seq)
      )`);
    // Written once, read back only on a reload: compressing megabytes per commit cost more than it saves.
    const arrays = ['domains', 'regions', 'bucket_starts', 'requests', 'errors', 'bytes', 'latency_max_ms', 'latency_sketches', 'sketch_starts', 'sketch_lengths', 'evicted_domains', 'evicted_regions', 'evicted_bucket_starts'];
    for (const column of arrays) {
      await q.query(`ALTER TABLE "${s}".partition_open_deltas ALTER COLUMN ${column} SET STORAGE EXTERNAL`);
    }
    await q.query(`
      INSERT INTO "${s}".partition_open_deltas (topic, partition, last_bucket_start, domains, regions, bucket_starts, requests, errors, bytes,
                                                latency_max_ms, latency_sketches, sketch_starts, sketch_lengths, evicted_domains, evicted_regions, evicted_bucket_starts)
      SELECT topic, partition, max(bucket_start), array_agg(domain ORDER BY n), array_agg(region ORDER BY n), array_agg(bucket_start ORDER BY n),
             array_agg(requests ORDER BY n), array_agg(errors ORDER BY n), array_agg(bytes ORDER BY n), array_agg(latency_max_ms ORDER BY n),
             string_agg(latency_sketch, ''::bytea ORDER BY n), array_agg(sketch_end - octet_length(latency_sketch) + 1 ORDER BY n),
             array_agg(octet_length(latency_sketch) ORDER BY n), '{}', '{}', '{}'
      FROM (SELECT pb.*, row_number() OVER w AS n, sum(octet_length(latency_sketch)) OVER w AS sketch_end
            FROM "${s}".partition_buckets pb
            WINDOW w AS (PARTITION BY topic, partition ORDER BY bucket_start, domain, region)) shares
      GROUP BY topic, partition`);
    await q.query(`DROP TABLE "${s}".partition_buckets`);
    await q.query(`
      CREATE VIEW "${s}".partition_buckets AS
      SELECT latest.domain, latest.region, latest.bucket_start, latest.topic, latest.partition, latest.requests, latest.errors, latest.bytes,
             latest.latency_max_ms, latest.latency_sketch
      FROM (SELECT DISTINCT ON (d.topic, d.partition, k.domain, k.region, k.bucket_start) d.topic, d.partition, k.*
            FROM "${s}".partition_open_deltas d
            CROSS JOIN LATERAL (
              SELECT t.domain, t.region, t.bucket_start, t.requests, t.errors, t.bytes, t.latency_max_ms,
                     substring(d.latency_sketches FROM t.sketch_start FOR t.sketch_length) AS latency_sketch, false AS evicted
              FROM unnest(d.domains, d.regions, d.bucket_starts, d.requests, d.errors, d.bytes, d.latency_max_ms, d.sketch_starts, d.sketch_lengths)
                   AS t(domain, region, bucket_start, requests, errors, bytes, latency_max_ms, sketch_start, sketch_length)
              UNION ALL
              SELECT e.domain, e.region, e.bucket_start, NULL, NULL, NULL, NULL, NULL, true
              FROM unnest(d.evicted_domains, d.evicted_regions, d.evicted_bucket_starts) AS e(domain, region, bucket_start)
            ) k
            ORDER BY d.topic, d.partition, k.domain, k.region, k.bucket_start, d.seq DESC, k.evicted DESC) latest
      LEFT JOIN "${s}".partition_progress p ON p.topic = latest.topic AND p.partition = latest.partition
      WHERE NOT latest.evicted AND (p.closed_up_to IS NULL OR latest.bucket_start > p.closed_up_to)`);
    await q.query(demandHistory);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    const demandHistory = await dropDemandHistoryView(q, s);
    await q.query(`ALTER VIEW "${s}".partition_buckets RENAME TO partition_buckets_of_deltas`);
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
        PRIMARY KEY (topic, partition, bucket_start, domain, region)
      )`);
    await q.query(`INSERT INTO "${s}".partition_buckets SELECT * FROM "${s}".partition_buckets_of_deltas`);
    await q.query(`DROP VIEW "${s}".partition_buckets_of_deltas`);
    await q.query(`DROP TABLE "${s}".partition_open_deltas`);
    await q.query(`ALTER TABLE "${s}".partition_progress DROP COLUMN closed_up_to`);
    await q.query(demandHistory);
  }
}

/**
 * Drops the contract view demand_history, which reads partition_buckets by name, and returns the
 * statement that makes it again as it was (over the table or the view then called so).
 */
async function dropDemandHistoryView(q: QueryRunner, s: string): Promise<string> {
  const [{ definition }] = await q.query(`SELECT pg_get_viewdef($1::regclass) AS definition`, [`"${s}".demand_history`]);
  await q.query(`DROP VIEW "${s}".demand_history`);
  return `CREATE VIEW "${s}".demand_history AS ${definition}`;
}
