import { MigrationInterface, QueryRunner } from 'typeorm';
import { outboxTableDdl } from '@shardcast/platform';
import { demandObservedEvent } from '@shardcast/telemetry';

/**
 * The outbox names the bucket revisions a commit published instead of holding their events:
 * one demand_outbox row per commit (DemandOutboxTable rebuilds the events from demand_buckets).
 * Unsent events of the old outbox become one-revision rows, in their order; the old table goes.
 */
export class DemandOutbox1764300000000 implements MigrationInterface {
  name = 'DemandOutbox1764300000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    await q.query(`
      CREATE TABLE "${s}".demand_outbox (
        id bigserial PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now(),
        domains text[] NOT NULL,
        regions text[] NOT NULL,
        bucket_starts timestamptz[] NOT NULL,
        revisions integer[] NOT NULL
      )`);
    // An instance of the previous version may still be writing: its rows wait for the copy instead
    // of being dropped after it.
    await q.query(`LOCK TABLE "${s}".outbox IN EXCLUSIVE MODE`);
    // The poll rebuilds an event's occurredAt from its bucket's updated_at, which the previous
    // version set from the database clock: carry each unsent event's own time over.
    await q.query(`
      UPDATE "${s}".demand_buckets db SET updated_at = (o.payload::jsonb->>'occurredAt')::timestamptz
      FROM "${s}".outbox o
      WHERE o.published_at IS NULL AND db.domain = o.payload::jsonb->'payload'->>'domain' AND db.region = o.payload::jsonb->'payload'->>'region'
        AND db.bucket_start = (o.payload::jsonb->'payload'->>'bucketStart')::timestamptz AND db.revision = (o.payload::jsonb->'payload'->>'revision')::int
        AND o.payload::jsonb->>'occurredAt' IS NOT NULL`);
    await q.query(`
      INSERT INTO "${s}".demand_outbox (created_at, domains, regions, bucket_starts, revisions)
      SELECT created_at, ARRAY[e->>'domain'], ARRAY[e->>'region'], ARRAY[(e->>'bucketStart')::timestamptz], ARRAY[(e->>'revision')::int]
      FROM (SELECT id, created_at, payload::jsonb->'payload' AS e FROM "${s}".outbox WHERE published_at IS NULL) legacy
      ORDER BY id`);
    await q.query(`DROP TABLE "${s}".outbox`);
  }

  /**
   * Back to one row per event: the listed revisions still stored, rendered as the relay would
   * (written out here, not through DemandOutboxTable: a migration must not change with the code).
   */
  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'ingest';
    for (const ddl of outboxTableDdl(s)) await q.query(ddl);
    await q.query(`ALTER TABLE "${s}".outbox ALTER COLUMN payload TYPE text USING payload::text`);
    const rows: Array<{
      domain: string; region: string; start_ms: string; revision: number; requests: string; errors: string; bytes: string;
      latency_p50_ms: number; latency_p90_ms: number; latency_p99_ms: number; latency_max_ms: number; latency_sketch: Buffer; updated_at: Date; created_at: Date;
    }> = await q.query(
      `SELECT db.domain, db.region, (extract(epoch from db.bucket_start) * 1000)::bigint AS start_ms, db.revision, db.requests, db.errors, db.bytes,
              db.latency_p50_ms, db.latency_p90_ms, db.latency_p99_ms, db.latency_max_ms, db.latency_sketch, db.updated_at, o.created_at
       FROM "${s}".demand_outbox o
       CROSS JOIN LATERAL unnest(o.domains, o.regions, o.bucket_starts, o.revisions) WITH ORDINALITY AS k(d, r, b, rev, i)
       JOIN "${s}".demand_buckets db ON db.domain = k.d AND db.region = k.r AND db.bucket_start = k.b AND db.revision = k.rev
       ORDER BY o.id, k.i`,
    );
    for (const row of rows) {
      const event = demandObservedEvent(
        { domain: row.domain, region: row.region, bucketStartMs: Number(row.start_ms) },
        row.revision,
        { requests: Number(row.requests), errors: Number(row.errors), bytesExact: row.bytes },
        { p50: row.latency_p50_ms, p90: row.latency_p90_ms, p99: row.latency_p99_ms, max: row.latency_max_ms },
        row.latency_sketch,
        'ingest',
        row.updated_at.toISOString(),
      );
      await q.query(`INSERT INTO "${s}".outbox (event_id, topic, key, payload, created_at) VALUES ($1, 'demand.observed.v1', $2, $3, $4) ON CONFLICT DO NOTHING`, [
        event.eventId,
        row.domain,
        JSON.stringify(event),
        row.created_at,
      ]);
    }
    await q.query(`DROP TABLE "${s}".demand_outbox`);
  }
}
