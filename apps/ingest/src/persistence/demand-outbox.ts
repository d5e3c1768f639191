import { DataSource, QueryRunner } from 'typeorm';
import { Topics } from '@shardcast/contracts';
import { inPollTransaction, OutboxEvent, OutboxTable } from '@shardcast/platform';
import { demandObservedEvent, demandObservedPayload, ObservedCommit, observedBatchMessages, serializeDemandObservedEvent, serializeDemandObservedPayload } from '@shardcast/telemetry';
import { DemandObservedTopics } from './demand-observed-topics';

/** A demand_buckets row as the outbox poll reads it, with its outbox row and position in that row's list. */
interface StoredRevisionRow {
  outbox_id: string;
  /** 1-based. */
  position: string;
  domain: string;
  region: string;
  start_ms: string;
  revision: number;
  requests: string;
  errors: string;
  bytes: string;
  latency_p50_ms: number;
  latency_p90_ms: number;
  latency_p99_ms: number;
  latency_max_ms: number;
  latency_sketch: Buffer;
  occurred_at: Date;
}

/** An outbox row's commit (null in rows written before it was recorded: those go out on v1 only). */
interface OutboxCommitRow {
  id: string;
  source_topic: string | null;
  source_partition: number | null;
  from_offset: string | null;
  commit_offset: string | null;
  chunk_ends: number[] | null;
}

/**
 * Ingest's outbox: one row per commit, naming the bucket revisions it published
 * (domain, region, bucket start, revision), not their events. Every field of a
 * `demand.observed.v1` event is in demand_buckets, written in the same statement, so the poll
 * rebuilds the event a writer would have sent, identical to it. A row with the ~1 kB event of
 * each bucket cost PostgreSQL more than the bucket itself (a fifth of ingest's write time).
 * The row also names its commit (source partition, offsets, where its list was cut into chunks),
 * so the poll rebuilds the commit's `demand.observed.v2` events the same way, ids included.
 *
 * A revision that a later one has replaced before its event went out is not sent: revisions are
 * cumulative (each holds every share closed so far) and consumers keep the highest, so the later
 * event carries all of it. The writer's own sends (OutboxRelay.publishWritten) send every revision.
 */
export class DemandOutboxTable implements OutboxTable {
  readonly name: string;

  constructor(
    private readonly db: DataSource,
    private readonly schema: string,
    private readonly producedBy: string,
    private readonly observed: DemandObservedTopics = { v1: true, v2: false },
  ) {
    this.name = `${schema}.demand_outbox`;
  }

  async deleteRows(rows: readonly string[], q?: QueryRunner): Promise<void> {
    await (q ?? this.db).query(`DELETE FROM "${this.schema}".demand_outbox WHERE id = ANY($1::bigint[])`, [rows]);
  }

  async drainOnce(send: (events: OutboxEvent[]) => Promise<void>, limit: number, graceMs: number, skip: readonly string[] = []): Promise<number> {
    return inPollTransaction(this.db, this.name, async (q) => {
      const due: Array<{ id: string; n: number }> = await q.query(
        `SELECT id::text AS id, cardinality(domains) AS n FROM "${this.schema}".demand_outbox
         WHERE created_at <= now() - make_interval(secs => $2) AND NOT (id = ANY($3::bigint[])) ORDER BY id LIMIT $1`,
        [limit, graceMs / 1000, skip],
      );
      // Whole rows up to `limit` events (at least one row: a catch-up commit may hold 10^5).
      const ids: string[] = [];
      let listed = 0;
      for (const row of due) {
        if (ids.length > 0 && listed + row.n > limit) break;
        ids.push(row.id);
        listed += row.n;
      }
      if (ids.length === 0) return 0;
      const events = this.eventsOf(await this.commitsOf(q, ids), await this.storedRevisions(q, ids));
      if (events.length > 0) await send(events);
      await this.deleteRows(ids, q);
      // Rows whose revisions were all replaced still count: 0 means nothing was due.
      return Math.max(events.length, ids.length);
    });
  }

  /** The listed revisions still stored, in row then listing order (replaced ones drop out of the join). */
  private storedRevisions(q: QueryRunner, ids: string[]): Promise<StoredRevisionRow[]> {
    return q.query(
      `SELECT o.id::text AS outbox_id, k.i AS position, db.domain, db.region, (extract(epoch from db.bucket_start) * 1000)::bigint AS start_ms, db.revision,
              db.requests, db.errors, db.bytes, db.latency_p50_ms, db.latency_p90_ms, db.latency_p99_ms, db.latency_max_ms,
              db.latency_sketch, db.updated_at AS occurred_at
       FROM "${this.schema}".demand_outbox o
       CROSS JOIN LATERAL unnest(o.domains, o.regions, o.bucket_starts, o.revisions) WITH ORDINALITY AS k(d, r, b, rev, i)
       JOIN "${this.schema}".demand_buckets db ON db.domain = k.d AND db.region = k.r AND db.bucket_start = k.b AND db.revision = k.rev
       WHERE o.id = ANY($1::bigint[])
       ORDER BY o.id, k.i`,
      [ids],
    );
  }

  private commitsOf(q: QueryRunner, ids: string[]): Promise<OutboxCommitRow[]> {
    return q.query(
      `SELECT id::text AS id, source_topic, source_partition, from_offset::text AS from_offset, commit_offset::text AS commit_offset, chunk_ends
       FROM "${this.schema}".demand_outbox WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [ids],
    );
  }

  /**
   * The events of the rows, in row order: per row its v1 events (one per revision still stored)
   * and its v2 events (its revisions still stored, cut where the writer cut them), as enabled.
   */
  private eventsOf(commits: OutboxCommitRow[], rows: StoredRevisionRow[]): OutboxEvent[] {
    const events: OutboxEvent[] = [];
    let next = 0;
    for (const commit of commits) {
      const start = next;
      while (next < rows.length && rows[next].outbox_id === commit.id) next++;
      const revisions = rows.slice(start, next);
      if (this.observed.v1) for (const row of revisions) events.push({ topic: Topics.demandObserved, key: row.domain, payload: serializeDemandObservedEvent(this.v1EventOf(row)) });
      if (this.observed.v2 && revisions.length > 0 && commit.commit_offset !== null && commit.chunk_ends !== null) {
        const source: ObservedCommit = {
          topic: commit.source_topic!,
          partition: commit.source_partition!,
          fromOffset: commit.from_offset === '-1' ? null : commit.from_offset,
          commitOffset: commit.commit_offset,
        };
        const entries = revisions.map((row) => ({ position: Number(row.position) - 1, json: serializeDemandObservedPayload(demandObservedPayload(...revisionOf(row))) }));
        // Every revision a row lists was written by its commit at one time, the writer's occurredAt.
        for (const m of observedBatchMessages(source, commit.chunk_ends, entries, this.producedBy, revisions[0].occurred_at.toISOString())) {
          events.push({ topic: Topics.demandObservedV2, key: m.key, payload: m.payload });
        }
      }
    }
    return events;
  }

  private v1EventOf(row: StoredRevisionRow) {
    return demandObservedEvent(...revisionOf(row), this.producedBy, row.occurred_at.toISOString());
  }
}

/** A stored revision as demandObservedPayload (and demandObservedEvent) take it. */
function revisionOf(row: StoredRevisionRow): Parameters<typeof demandObservedPayload> {
  const key = { domain: row.domain, region: row.region, bucketStartMs: Number(row.start_ms) };
  const totals = { requests: Number(row.requests), errors: Number(row.errors), bytesExact: row.bytes };
  const latency = { p50: row.latency_p50_ms, p90: row.latency_p90_ms, p99: row.latency_p99_ms, max: row.latency_max_ms };
  return [key, row.revision, totals, latency, row.latency_sketch];
}
