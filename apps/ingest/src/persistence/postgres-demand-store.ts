import { DataSource, QueryRunner } from 'typeorm';
import { Topics } from '@shardcast/contracts';
import {
  bucketId,
  BUCKET_MS,
  deserializeLatencySketch,
  LedgerEntry,
  LedgerTransition,
  nextBucketRevisions,
  PartitionLedger,
  serializeLatencySketch,
} from '@shardcast/telemetry';

export interface StoredPartitionCounts {
  accepted: number;
  rejected: number;
  late: number;
}

interface PartialRow {
  domain: string;
  region: string;
  start_ms: string;
  requests: string;
  errors: string;
  bytes: string;
  latency_max_ms: number;
  latency_sketch: Buffer;
}

export type CommitResult = { committed: true; events: number } | { committed: false; storedOffset: bigint };

const entryId = (e: LedgerEntry) => bucketId(e.key);

/**
 * Ingest's repository. A partition's partial buckets and its next offset change in one
 * transaction, guarded by the offset the writer expects: a writer whose view is stale (it lost the
 * partition, or another member moved it on) has its write refused, reloads, and only then writes
 * the offsets after the stored one.
 */
export class PostgresDemandStore {
  constructor(
    private readonly db: DataSource,
    private readonly schema: string,
    private readonly producedBy: string,
    private readonly outboxTopic: string = Topics.demandObserved,
  ) {}

  private get s(): string {
    return `"${this.schema}"`;
  }

  async storedOffset(topic: string, partition: number): Promise<bigint | null> {
    const rows = await this.db.query(`SELECT next_offset FROM ${this.s}.partition_progress WHERE topic = $1 AND partition = $2`, [topic, partition]);
    const stored = rows.length ? BigInt(rows[0].next_offset) : -1n;
    return stored >= 0n ? stored : null;
  }

  /** Loads a partition's ledger: its progress and its open partial buckets. */
  async loadLedger(topic: string, partition: number): Promise<PartitionLedger> {
    const progressRows = await this.db.query(
      `SELECT next_offset, max_event_time_ms FROM ${this.s}.partition_progress WHERE topic = $1 AND partition = $2`,
      [topic, partition],
    );
    const rows = await this.db.query(
      `SELECT domain, region, (extract(epoch from bucket_start) * 1000)::bigint AS start_ms, requests, errors, bytes, latency_max_ms, latency_sketch
       FROM ${this.s}.partition_buckets WHERE topic = $1 AND partition = $2 AND NOT closed`,
      [topic, partition],
    );
    const open = new Map<string, LedgerEntry>();
    for (const row of rows) {
      const entry: LedgerEntry = {
        key: { domain: row.domain, region: row.region, bucketStartMs: Number(row.start_ms) },
        bucket: {
          requests: Number(row.requests),
          errors: Number(row.errors),
          bytes: Number(row.bytes),
          latencyMaxMs: Number(row.latency_max_ms),
          latency: deserializeLatencySketch(row.latency_sketch),
        },
      };
      open.set(entryId(entry), entry);
    }
    const p = progressRows[0];
    return {
      progress: {
        nextOffset: p ? BigInt(p.next_offset) : -1n,
        maxEventTimeMs: p && p.max_event_time_ms !== null ? Number(p.max_event_time_ms) : -Infinity,
      },
      open,
    };
  }

  /**
   * Stores a transition if the partition's stored offset is still `expected`. Closed buckets are
   * merged across partitions into demand_buckets with a new revision and an outbox event.
   */
  async commit(
    topic: string,
    partition: number,
    expectedOffset: bigint,
    transition: LedgerTransition,
    counts: StoredPartitionCounts,
  ): Promise<CommitResult> {
    const q = this.db.createQueryRunner();
    await q.connect();
    try {
      await q.startTransaction('READ COMMITTED');
      await q.query(
        `INSERT INTO ${this.s}.partition_progress (topic, partition, next_offset) VALUES ($1, $2, -1) ON CONFLICT DO NOTHING`,
        [topic, partition],
      );
      const [row] = await q.query(`SELECT next_offset FROM ${this.s}.partition_progress WHERE topic = $1 AND partition = $2 FOR UPDATE`, [
        topic,
        partition,
      ]);
      const stored = BigInt(row.next_offset);
      if (stored !== expectedOffset) {
        await q.rollbackTransaction();
        return { committed: false, storedOffset: stored };
      }
      const closing = new Set(transition.closed);
      await this.upsertPartials(q, topic, partition, transition.changed.filter((e) => !closing.has(e)), false);
      await this.upsertPartials(q, topic, partition, transition.closed, true);
      const { progress } = transition.next;
      await q.query(
        `UPDATE ${this.s}.partition_progress
         SET next_offset = $3, max_event_time_ms = $4, accepted_records = accepted_records + $5,
             rejected_records = rejected_records + $6, late_records = late_records + $7, updated_at = now()
         WHERE topic = $1 AND partition = $2`,
        [
          topic,
          partition,
          progress.nextOffset.toString(),
          Number.isFinite(progress.maxEventTimeMs) ? Math.trunc(progress.maxEventTimeMs) : null,
          counts.accepted,
          counts.rejected,
          counts.late,
        ],
      );
      const events = await this.publishClosedBuckets(q, topic, partition, transition.closed);
      await q.commitTransaction();
      return { committed: true, events };
    } catch (err) {
      if (q.isTransactionActive) await q.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await q.release();
    }
  }

  private async upsertPartials(q: QueryRunner, topic: string, partition: number, entries: LedgerEntry[], closed: boolean): Promise<void> {
    if (entries.length === 0) return;
    const cols = {
      domain: [] as string[],
      region: [] as string[],
      start: [] as string[],
      requests: [] as number[],
      errors: [] as number[],
      bytes: [] as number[],
      max: [] as number[],
      sketch: [] as Buffer[],
    };
    for (const e of entries) {
      cols.domain.push(e.key.domain);
      cols.region.push(e.key.region);
      cols.start.push(new Date(e.key.bucketStartMs).toISOString());
      cols.requests.push(e.bucket.requests);
      cols.errors.push(e.bucket.errors);
      cols.bytes.push(e.bucket.bytes);
      cols.max.push(e.bucket.latencyMaxMs);
      cols.sketch.push(serializeLatencySketch(e.bucket));
    }
    await q.query(
      `INSERT INTO ${this.s}.partition_buckets
         (domain, region, bucket_start, topic, partition, requests, errors, bytes, latency_max_ms, latency_sketch, closed)
       SELECT d, r, b, $9, $10, rq, er, by, mx, sk, $11
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::float8[], $8::bytea[])
         AS t(d, r, b, rq, er, by, mx, sk)
       ON CONFLICT (domain, region, bucket_start, topic, partition) DO UPDATE SET
         requests = excluded.requests, errors = excluded.errors, bytes = excluded.bytes,
         latency_max_ms = excluded.latency_max_ms, latency_sketch = excluded.latency_sketch, closed = excluded.closed`,
      [cols.domain, cols.region, cols.start, cols.requests, cols.errors, cols.bytes, cols.max, cols.sketch, topic, partition, closed],
    );
  }

  /**
   * Merges every partition's share of each closed bucket and writes an outbox event with the next
   * revision. Rows are locked in key order so concurrent partitions cannot deadlock. This
   * partition's shares are the closed entries in memory; only other partitions' are read back.
   */
  private async publishClosedBuckets(q: QueryRunner, topic: string, partition: number, closed: LedgerEntry[]): Promise<number> {
    if (closed.length === 0) return 0;
    const sorted = [...closed].sort((a, b) => (entryId(a) < entryId(b) ? -1 : entryId(a) > entryId(b) ? 1 : 0));
    const domains = sorted.map((e) => e.key.domain);
    const regions = sorted.map((e) => e.key.region);
    const starts = sorted.map((e) => new Date(e.key.bucketStartMs).toISOString());
    await q.query(
      `INSERT INTO ${this.s}.demand_buckets (domain, region, bucket_start, bucket_seconds)
       SELECT d, r, b, $4 FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(d, r, b)
       ON CONFLICT DO NOTHING`,
      [domains, regions, starts, BUCKET_MS / 1000],
    );
    const locked = await q.query(
      `SELECT db.domain, db.region, (extract(epoch from db.bucket_start) * 1000)::bigint AS start_ms, db.revision
       FROM ${this.s}.demand_buckets db
       JOIN unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(d, r, b) ON db.domain = t.d AND db.region = t.r AND db.bucket_start = t.b
       ORDER BY db.domain, db.region, db.bucket_start
       FOR UPDATE OF db`,
      [domains, regions, starts],
    );
    const revisions = new Map<string, number>(locked.map((r: { domain: string; region: string; start_ms: string; revision: number }) => [`${r.domain}\u0000${r.region}\u0000${Number(r.start_ms)}`, r.revision]));
    const partials = await q.query(
      `SELECT pb.domain, pb.region, (extract(epoch from pb.bucket_start) * 1000)::bigint AS start_ms, pb.requests, pb.errors, pb.bytes, pb.latency_max_ms, pb.latency_sketch
       FROM ${this.s}.partition_buckets pb
       JOIN unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(d, r, b) ON pb.domain = t.d AND pb.region = t.r AND pb.bucket_start = t.b
       WHERE NOT (pb.topic = $4 AND pb.partition = $5)`,
      [domains, regions, starts, topic, partition],
    );
    const publications = nextBucketRevisions(
      sorted.map((e) => e.key),
      [...sorted, ...partials.map((p: PartialRow) => ({
        key: { domain: p.domain, region: p.region, bucketStartMs: Number(p.start_ms) },
        bucket: {
          requests: Number(p.requests),
          errors: Number(p.errors),
          bytes: Number(p.bytes),
          latencyMaxMs: Number(p.latency_max_ms),
          latency: deserializeLatencySketch(p.latency_sketch),
        },
      }))],
      revisions,
      this.producedBy,
      new Date(),
    );
    const update = {
      rev: publications.map((p) => p.revision),
      rq: publications.map((p) => p.bucket.requests),
      er: publications.map((p) => p.bucket.errors),
      by: publications.map((p) => p.bucket.bytes),
      p50: publications.map((p) => p.latency.p50),
      p90: publications.map((p) => p.latency.p90),
      p99: publications.map((p) => p.latency.p99),
      mx: publications.map((p) => p.latency.max),
      sk: publications.map((p) => p.sketch),
    };
    const outbox = {
      id: publications.map((p) => p.event.eventId),
      key: publications.map((p) => p.key.domain),
      payload: publications.map((p) => JSON.stringify(p.event)),
    };
    await q.query(
      `UPDATE ${this.s}.demand_buckets db SET revision = u.rev, requests = u.rq, errors = u.er, bytes = u.by,
         latency_p50_ms = u.p50, latency_p90_ms = u.p90, latency_p99_ms = u.p99, latency_max_ms = u.mx, latency_sketch = u.sk, updated_at = now()
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[], $5::bigint[], $6::bigint[], $7::bigint[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::bytea[])
         AS u(d, r, b, rev, rq, er, by, p50, p90, p99, mx, sk)
       WHERE db.domain = u.d AND db.region = u.r AND db.bucket_start = u.b`,
      [domains, regions, starts, update.rev, update.rq, update.er, update.by, update.p50, update.p90, update.p99, update.mx, update.sk],
    );
    await q.query(
      `INSERT INTO ${this.s}.outbox (event_id, topic, key, payload)
       SELECT i, $4, k, p::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS t(i, k, p)
       ON CONFLICT (event_id) DO NOTHING`,
      [outbox.id, outbox.key, outbox.payload, this.outboxTopic],
    );
    return sorted.length;
  }
}
