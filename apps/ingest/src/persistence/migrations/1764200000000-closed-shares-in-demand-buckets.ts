import { MigrationInterface, QueryRunner } from 'typeorm';
import { deserializeLatencySketch, emptyDemandBucket, latencySummary, mergeDemandBuckets, serializeLatencySketch } from '@shardcast/telemetry';

const PAGE = 5_000;

/**
 * A partition's closed share now goes straight into demand_buckets (added once, when it closes)
 * instead of staying in partition_buckets to be re-read by every later closer: partition_buckets
 * holds open shares only. Existing closed shares are folded into their bucket's stored values
 * (which held a snapshot that could include other partitions' open shares; corrected in place,
 * not republished as a new revision) and deleted. The outbox
 * payload becomes text: it is written once and read back as text, and parsing it as jsonb only
 * cost the database time.
 */
export class ClosedSharesInDemandBuckets1764200000000 implements MigrationInterface {
  name = 'ClosedSharesInDemandBuckets1764200000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    await this.foldClosedShares(q, s);
    await q.query(`DELETE FROM "${s}".partition_buckets WHERE closed`);
    await q.query(`DROP VIEW "${s}".demand_history`);
    await q.query(`DROP INDEX "${s}".partition_buckets_open`);
    await q.query(`ALTER TABLE "${s}".partition_buckets DROP COLUMN closed`);
    await q.query(`ALTER TABLE "${s}".partition_buckets DROP CONSTRAINT partition_buckets_pkey`);
    // Leading with the partition serves the ledger's load and the range delete of closed shares.
    await q.query(`ALTER TABLE "${s}".partition_buckets ADD PRIMARY KEY (topic, partition, bucket_start, domain, region)`);
    // Contract view for other services (read-only): exact live totals, closed or not. A bucket is
    // closed when no partition holds an open share of it.
    await q.query(`
      CREATE VIEW "${s}".demand_history AS
      SELECT domain, region, bucket_start,
             sum(requests)::bigint AS requests, sum(errors)::bigint AS errors, sum(bytes)::bigint AS bytes,
             bool_and(closed) AS closed
      FROM (SELECT domain, region, bucket_start, requests, errors, bytes, true AS closed FROM "${s}".demand_buckets
            UNION ALL
            SELECT domain, region, bucket_start, requests, errors, bytes, false FROM "${s}".partition_buckets) shares
      GROUP BY domain, region, bucket_start`);
    await q.query(`ALTER TABLE "${s}".outbox ALTER COLUMN payload TYPE text USING payload::text`);
  }

  /** Sets each published bucket's values to the merge of its closed shares, page by page. */
  private async foldClosedShares(q: QueryRunner, s: string): Promise<void> {
    let after: { domain: string; region: string; start: string } | null = null;
    for (;;) {
      const keys: Array<{ domain: string; region: string; start: string }> = await q.query(
        // Ordered by time, as the keyset compares (text order differs in a DST fold).
        `SELECT DISTINCT domain, region, bucket_start, bucket_start::text AS start FROM "${s}".partition_buckets
         WHERE closed ${after ? `AND (domain, region, bucket_start) > ($1, $2, $3::timestamptz)` : ''}
         ORDER BY domain, region, bucket_start LIMIT ${PAGE}`,
        after ? [after.domain, after.region, after.start] : [],
      );
      if (keys.length === 0) return;
      const shares: Array<{ domain: string; region: string; start: string; requests: string; errors: string; bytes: string; latency_max_ms: number; latency_sketch: Buffer }> =
        await q.query(
          `SELECT pb.domain, pb.region, pb.bucket_start::text AS start, pb.requests, pb.errors, pb.bytes, pb.latency_max_ms, pb.latency_sketch
           FROM "${s}".partition_buckets pb JOIN unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(d, r, b)
             ON pb.domain = t.d AND pb.region = t.r AND pb.bucket_start = t.b
           WHERE pb.closed`,
          [keys.map((k) => k.domain), keys.map((k) => k.region), keys.map((k) => k.start)],
        );
      const merged = new Map<string, { domain: string; region: string; start: string; bucket: ReturnType<typeof emptyDemandBucket> }>();
      for (const row of shares) {
        const id = `${row.domain}\u0000${row.region}\u0000${row.start}`;
        const entry = merged.get(id) ?? { domain: row.domain, region: row.region, start: row.start, bucket: emptyDemandBucket() };
        mergeDemandBuckets(entry.bucket, {
          requests: Number(row.requests),
          errors: Number(row.errors),
          bytes: Number(row.bytes),
          latencyMaxMs: Number(row.latency_max_ms),
          latency: deserializeLatencySketch(row.latency_sketch),
        });
        merged.set(id, entry);
      }
      const rows = [...merged.values()];
      const latency = rows.map((r) => latencySummary(r.bucket));
      await q.query(
        `UPDATE "${s}".demand_buckets db SET requests = u.rq, errors = u.er, bytes = u.by,
           latency_p50_ms = u.p50, latency_p90_ms = u.p90, latency_p99_ms = u.p99, latency_max_ms = u.mx, latency_sketch = u.sk
         FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::bytea[])
           AS u(d, r, b, rq, er, by, p50, p90, p99, mx, sk)
         WHERE db.domain = u.d AND db.region = u.r AND db.bucket_start = u.b`,
        [
          rows.map((r) => r.domain),
          rows.map((r) => r.region),
          rows.map((r) => r.start),
          rows.map((r) => r.bucket.requests),
          rows.map((r) => r.bucket.errors),
          rows.map((r) => r.bucket.bytes),
          latency.map((l) => l.p50),
          latency.map((l) => l.p90),
          latency.map((l) => l.p99),
          latency.map((l) => l.max),
          rows.map((r) => serializeLatencySketch(r.bucket)),
        ],
      );
      after = keys[keys.length - 1];
    }
  }

  /** Back to the earlier layout. Closed shares were folded into demand_buckets and are not split again. */
  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    await q.query(`ALTER TABLE "${s}".outbox ALTER COLUMN payload TYPE jsonb USING payload::jsonb`);
    await q.query(`DROP VIEW "${s}".demand_history`);
    await q.query(`ALTER TABLE "${s}".partition_buckets DROP CONSTRAINT partition_buckets_pkey`);
    await q.query(`ALTER TABLE "${s}".partition_buckets ADD PRIMARY KEY (domain, region, bucket_start, topic, partition)`);
    await q.query(`ALTER TABLE "${s}".partition_buckets ADD COLUMN closed boolean NOT NULL DEFAULT false`);
    await q.query(`CREATE INDEX partition_buckets_open ON "${s}".partition_buckets (topic, partition) WHERE NOT closed`);
    await q.query(`
      CREATE VIEW "${s}".demand_history AS
      SELECT domain, region, bucket_start,
             sum(requests)::bigint AS requests, sum(errors)::bigint AS errors, sum(bytes)::bigint AS bytes,
             bool_and(closed) AS closed
      FROM "${s}".partition_buckets
      GROUP BY domain, region, bucket_start`);
  }
}
