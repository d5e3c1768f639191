import { DataSource, QueryRunner } from 'typeorm';
import { Topics } from '@shardcast/contracts';
import type { OutboxMessage } from '@shardcast/platform';
import {
  bucketId,
  BucketPublication,
  BUCKET_MS,
  deserializeLatencySketch,
  emptyDemandBucket,
  LedgerEntry,
  LedgerTransition,
  nextBucketRevision,
  PartitionLedger,
  serializeDemandObservedEvent,
  serializeLatencySketch,
  StoredBucketRevision,
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

const UNIQUE_VIOLATION = '23505';
const DEADLOCK_DETECTED = '40P01';
/** After a conflict a partition's next commits go through the transaction (its merges are likely to go on). */
const TRANSACTIONAL_COMMITS_AFTER_CONFLICT = 32;

/** A commit computed and ready to be written (see prepareCommit). */
export interface PreparedCommit {
  topic: string;
  partition: number;
  expectedOffset: bigint;
  transition: LedgerTransition;
  counts: StoredPartitionCounts;
  events: number;
  /** The events of the closed buckets (revision 1 of each), held by one demand_outbox row. */
  outbox: OutboxMessage[];
  statementParams: unknown[];
}

/**
 * `outbox`: the events of the buckets the commit closed, for the writer to publish right away;
 * `outboxRows`: the demand_outbox rows that hold them, to delete once they are sent.
 */
export type CommitResult = { committed: true; events: number; outbox: OutboxMessage[]; outboxRows: string[] } | { committed: false; storedOffset: bigint };

const entryId = (e: LedgerEntry) => bucketId(e.key);

/**
 * Ingest's repository. A partition's open partial buckets, its closed shares and its next offset
 * change atomically (one statement, or a transaction when buckets must be merged), guarded by the
 * offset the writer expects: a writer whose view is stale (it lost the partition, or another
 * member moved it on) has its write refused, reloads, and only then writes the offsets after the
 * stored one.
 */
export class PostgresDemandStore {
  /** Per partition: how many more commits go through the transaction after a conflict. */
  private readonly transactionalCommits = new Map<string, number>();

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
       FROM ${this.s}.partition_buckets WHERE topic = $1 AND partition = $2`,
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
   * Stores a transition if the partition's stored offset is still `expected`: its open shares in
   * partition_buckets, its closed (final) shares added to demand_buckets as new revisions with
   * their outbox events, and its progress.
   */
  async commit(
    topic: string,
    partition: number,
    expectedOffset: bigint,
    transition: LedgerTransition,
    counts: StoredPartitionCounts,
  ): Promise<CommitResult> {
    return this.commitPrepared(this.prepareCommit(topic, partition, expectedOffset, transition, counts));
  }

  /**
   * Everything a commit computes before it talks to the database (revisions, events, columns):
   * a caller that pipelines batches prepares the next while the previous is being written.
   */
  prepareCommit(topic: string, partition: number, expectedOffset: bigint, transition: LedgerTransition, counts: StoredPartitionCounts): PreparedCommit {
    const closing = new Set(transition.closed);
    const open = openColumns(transition.changed.filter((e) => !closing.has(e)));
    const openSketches = packedBytes(open[7]);
    const sorted = sortedByKey(transition.closed);
    const at = new Date();
    const firsts = sorted.map((e) => nextBucketRevision(e.key, e.bucket, undefined, this.producedBy, at));
    const closedSketches = packedBytes(firsts.map((p) => p.sketch));
    const outbox = this.outboxMessages(firsts);
    const lastClosedStart = latestBucketStart(sorted);
    const { progress } = transition.next;
    return {
      topic,
      partition,
      expectedOffset,
      transition,
      counts,
      events: sorted.length,
      outbox,
      statementParams: [
        topic,
        partition,
        expectedOffset.toString(),
        progress.nextOffset.toString(),
        Number.isFinite(progress.maxEventTimeMs) ? Math.trunc(progress.maxEventTimeMs) : null,
        counts.accepted,
        counts.rejected,
        counts.late,
        ...open.slice(0, 7),
        openSketches.bytes,
        Number.isFinite(lastClosedStart) ? new Date(lastClosedStart).toISOString() : null,
        BUCKET_MS / 1000,
        ...keyColumns(firsts),
        ...valueColumns(firsts).slice(0, 7),
        closedSketches.bytes,
        at.toISOString(),
        openSketches.starts,
        openSketches.lengths,
        closedSketches.starts,
        closedSketches.lengths,
      ],
    };
  }

  async commitPrepared(prepared: PreparedCommit): Promise<CommitResult> {
    const { topic, partition, expectedOffset, transition, counts } = prepared;
    const id = `${topic}:${partition}`;
    const slow = this.transactionalCommits.get(id) ?? 0;
    if (slow > 0) {
      this.transactionalCommits.set(id, slow - 1);
    } else {
      try {
        return await this.commitInOneStatement(prepared);
      } catch (err) {
        // Another partition closed one of these buckets first (or is closing it now): nothing of
        // the statement was applied; merge in a transaction, and keep doing so for a while.
        const code = (err as { code?: string }).code;
        if (code !== UNIQUE_VIOLATION && code !== DEADLOCK_DETECTED) throw err;
        this.transactionalCommits.set(id, TRANSACTIONAL_COMMITS_AFTER_CONFLICT);
      }
    }
    return this.commitInTransaction(topic, partition, expectedOffset, transition, counts);
  }

  /**
   * The usual commit as one autocommitted statement (one round trip instead of ten): the
   * partition's progress moves by compare-and-set on the expected offset, and every other change
   * is gated on that. Closed shares are plain inserts into demand_buckets, so a bucket another
   * partition has published already fails the whole statement (unique violation), and the caller
   * merges in a transaction instead. Keys are inserted in sorted order, as in the transaction.
   * Sketches travel as one binary param each for open and closed shares (packedBytes); the
   * transaction, the rare path, keeps bytea[].
   */
  private async commitInOneStatement(prepared: PreparedCommit): Promise<CommitResult> {
    const [row]: Array<{ committed: number; stored: string | null; outbox_row: string | null }> = await this.db.query(
      `WITH inserted_progress AS (
         INSERT INTO ${this.s}.partition_progress AS pp (topic, partition, next_offset, max_event_time_ms, accepted_records, rejected_records, late_records)
         SELECT $1::text, $2::int, $4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::bigint WHERE $3::bigint = -1
         ON CONFLICT (topic, partition) DO NOTHING
         RETURNING 1
       ), updated_progress AS (
         UPDATE ${this.s}.partition_progress
         SET next_offset = $4, max_event_time_ms = $5, accepted_records = accepted_records + $6,
             rejected_records = rejected_records + $7, late_records = late_records + $8, updated_at = now()
         WHERE topic = $1 AND partition = $2 AND next_offset = $3
         RETURNING 1
       ), moved AS (
         SELECT 1 FROM inserted_progress UNION ALL SELECT 1 FROM updated_progress
       ), open_shares AS (
         INSERT INTO ${this.s}.partition_buckets
           (domain, region, bucket_start, topic, partition, requests, errors, bytes, latency_max_ms, latency_sketch)
         SELECT d, r, b, $1, $2, rq, er, by, mx, substring($16::bytea FROM ss FOR sl)
         FROM unnest($9::text[], $10::text[], $11::timestamptz[], $12::bigint[], $13::bigint[], $14::bigint[], $15::float8[], $31::int[], $32::int[])
           AS t(d, r, b, rq, er, by, mx, ss, sl)
         WHERE EXISTS (SELECT 1 FROM moved)
         ON CONFLICT (topic, partition, bucket_start, domain, region) DO UPDATE SET
           requests = excluded.requests, errors = excluded.errors, bytes = excluded.bytes,
           latency_max_ms = excluded.latency_max_ms, latency_sketch = excluded.latency_sketch
       ), closed_shares AS (
         DELETE FROM ${this.s}.partition_buckets
         WHERE topic = $1 AND partition = $2 AND bucket_start <= $17::timestamptz AND EXISTS (SELECT 1 FROM moved)
       ), published AS (
         INSERT INTO ${this.s}.demand_buckets (domain, region, bucket_start, bucket_seconds, revision, requests, errors, bytes,
                                               latency_p50_ms, latency_p90_ms, latency_p99_ms, latency_max_ms, latency_sketch, updated_at)
         SELECT d, r, b, $18, 1, rq, er, by, p50, p90, p99, mx, substring($29::bytea FROM ss FOR sl), $30::timestamptz
         FROM unnest($19::text[], $20::text[], $21::timestamptz[], $22::bigint[], $23::bigint[], $24::bigint[],
                     $25::float8[], $26::float8[], $27::float8[], $28::float8[], $33::int[], $34::int[]) WITH ORDINALITY
           AS t(d, r, b, rq, er, by, p50, p90, p99, mx, ss, sl, i)
         WHERE EXISTS (SELECT 1 FROM moved)
         ORDER BY i
       ), events AS (
         INSERT INTO ${this.s}.demand_outbox (domains, regions, bucket_starts, revisions)
         SELECT $19::text[], $20::text[], $21::timestamptz[], array_fill(1, ARRAY[cardinality($19::text[])])
         WHERE cardinality($19::text[]) > 0 AND EXISTS (SELECT 1 FROM moved)
         RETURNING id
       )
       SELECT (SELECT count(*) FROM moved)::int AS committed,
              (SELECT next_offset FROM ${this.s}.partition_progress WHERE topic = $1 AND partition = $2)::text AS stored,
              (SELECT id FROM events)::text AS outbox_row`,
      prepared.statementParams,
    );
    if (row.committed > 0) return { committed: true, events: prepared.events, outbox: prepared.outbox, outboxRows: row.outbox_row === null ? [] : [row.outbox_row] };
    return { committed: false, storedOffset: row.stored === null ? -1n : BigInt(row.stored) };
  }

  /** The commit in a transaction, merging closed shares into buckets other partitions published first. */
  private async commitInTransaction(
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
      await this.upsertOpenPartials(q, topic, partition, transition.changed.filter((e) => !closing.has(e)));
      if (transition.closed.length > 0) {
        // Every open share starts after every closed one (the watermark sits between them), so
        // one range drops the closed shares that were stored while open.
        const lastClosedStart = latestBucketStart(transition.closed);
        await q.query(`DELETE FROM ${this.s}.partition_buckets WHERE topic = $1 AND partition = $2 AND bucket_start <= $3`, [
          topic,
          partition,
          new Date(lastClosedStart).toISOString(),
        ]);
      }
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
      const { outbox, outboxRows } = await this.publishClosedBuckets(q, transition.closed);
      await q.commitTransaction();
      return { committed: true, events: outbox.length, outbox, outboxRows };
    } catch (err) {
      if (q.isTransactionActive) await q.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await q.release();
    }
  }

  private async upsertOpenPartials(q: QueryRunner, topic: string, partition: number, entries: LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await q.query(
      `INSERT INTO ${this.s}.partition_buckets
         (domain, region, bucket_start, topic, partition, requests, errors, bytes, latency_max_ms, latency_sketch)
       SELECT d, r, b, $9, $10, rq, er, by, mx, sk
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::float8[], $8::bytea[])
         AS t(d, r, b, rq, er, by, mx, sk)
       ON CONFLICT (topic, partition, bucket_start, domain, region) DO UPDATE SET
         requests = excluded.requests, errors = excluded.errors, bytes = excluded.bytes,
         latency_max_ms = excluded.latency_max_ms, latency_sketch = excluded.latency_sketch`,
      [...openColumns(entries), topic, partition],
    );
  }

  /**
   * Adds this partition's closed shares to demand_buckets, each as the bucket's next revision with
   * its outbox event. A bucket nobody has closed yet (the usual case) is one insert; one that
   * another partition closed first is locked, read, merged and updated. The insert waits on a
   * concurrent insert of the same bucket and then skips it, so the second pass always sees the
   * other share. Keys go in sorted order so concurrent partitions cannot deadlock.
   */
  private async publishClosedBuckets(q: QueryRunner, closed: LedgerEntry[]): Promise<{ outbox: OutboxMessage[]; outboxRows: string[] }> {
    if (closed.length === 0) return { outbox: [], outboxRows: [] };
    const sorted = sortedByKey(closed);
    const at = new Date();
    const firsts = sorted.map((e) => nextBucketRevision(e.key, e.bucket, undefined, this.producedBy, at));
    const conflicting: Array<{ i: string }> = await q.query(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $5::bigint[], $6::bigint[], $7::bigint[],
                              $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::bytea[])
           WITH ORDINALITY AS t(d, r, b, rq, er, by, p50, p90, p99, mx, sk, i)
       ), inserted AS (
         INSERT INTO ${this.s}.demand_buckets (domain, region, bucket_start, bucket_seconds, revision, requests, errors, bytes,
                                               latency_p50_ms, latency_p90_ms, latency_p99_ms, latency_max_ms, latency_sketch, updated_at)
         SELECT d, r, b, $4, 1, rq, er, by, p50, p90, p99, mx, sk, $13::timestamptz FROM input ORDER BY i
         ON CONFLICT DO NOTHING
         RETURNING domain, region, bucket_start
       )
       SELECT i FROM input WHERE NOT EXISTS (SELECT 1 FROM inserted WHERE inserted.domain = d AND inserted.region = r AND inserted.bucket_start = b)`,
      [...keyColumns(firsts), BUCKET_MS / 1000, ...valueColumns(firsts), at.toISOString()],
    );
    const publications = firsts;
    if (conflicting.length > 0) {
      const merged = await this.mergeIntoStored(
        q,
        conflicting.map((c) => sorted[Number(c.i) - 1]),
        at,
      );
      for (const c of conflicting) publications[Number(c.i) - 1] = merged.get(entryId(sorted[Number(c.i) - 1]))!;
    }
    const [{ id }] = await q.query(
      `INSERT INTO ${this.s}.demand_outbox (domains, regions, bucket_starts, revisions)
       VALUES ($1::text[], $2::text[], $3::timestamptz[], $4::int[]) RETURNING id::text AS id`,
      [...keyColumns(publications), publications.map((p) => p.revision)],
    );
    return { outbox: this.outboxMessages(publications), outboxRows: [id] };
  }

  private outboxMessages(publications: readonly BucketPublication[]): OutboxMessage[] {
    return publications.map((p) => ({ eventId: p.event.eventId, topic: this.outboxTopic, key: p.key.domain, payload: serializeDemandObservedEvent(p.event) }));
  }

  /** The next revision of buckets other partitions have closed before: stored shares + this one. */
  private async mergeIntoStored(q: QueryRunner, entries: LedgerEntry[], at: Date): Promise<Map<string, BucketPublication>> {
    const keys = keyColumns(entries);
    const rows: Array<{ domain: string; region: string; start_ms: string; revision: number } & Omit<PartialRow, 'domain' | 'region' | 'start_ms'>> = await q.query(
      `SELECT db.domain, db.region, (extract(epoch from db.bucket_start) * 1000)::bigint AS start_ms, db.revision,
              db.requests, db.errors, db.bytes, db.latency_max_ms, db.latency_sketch
       FROM ${this.s}.demand_buckets db
       JOIN unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(d, r, b) ON db.domain = t.d AND db.region = t.r AND db.bucket_start = t.b
       ORDER BY db.domain, db.region, db.bucket_start
       FOR UPDATE OF db`,
      keys,
    );
    const stored = new Map<string, StoredBucketRevision>();
    for (const row of rows) {
      stored.set(bucketId({ domain: row.domain, region: row.region, bucketStartMs: Number(row.start_ms) }), {
        revision: row.revision,
        bucket: {
          requests: Number(row.requests),
          errors: Number(row.errors),
          bytes: Number(row.bytes),
          latencyMaxMs: Number(row.latency_max_ms),
          latency: row.latency_sketch ? deserializeLatencySketch(row.latency_sketch) : emptyDemandBucket().latency,
        },
      });
    }
    const merged = entries.map((e) => {
      const previous = stored.get(entryId(e));
      if (!previous) throw new Error(`demand bucket ${entryId(e).replace(/\u0000/g, '|')} conflicted on insert but cannot be read`);
      return nextBucketRevision(e.key, e.bucket, previous, this.producedBy, at);
    });
    await q.query(
      `UPDATE ${this.s}.demand_buckets db SET revision = u.rev, requests = u.rq, errors = u.er, bytes = u.by,
         latency_p50_ms = u.p50, latency_p90_ms = u.p90, latency_p99_ms = u.p99, latency_max_ms = u.mx, latency_sketch = u.sk, updated_at = $13
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[], $5::bigint[], $6::bigint[], $7::bigint[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::bytea[])
         AS u(d, r, b, rev, rq, er, by, p50, p90, p99, mx, sk)
       WHERE db.domain = u.d AND db.region = u.r AND db.bucket_start = u.b`,
      [...keyColumns(merged), merged.map((p) => p.revision), ...valueColumns(merged), at.toISOString()],
    );
    return new Map(merged.map((p) => [bucketId(p.key), p]));
  }
}

/** The latest bucket start of `entries` (-Infinity for none). */
function latestBucketStart(entries: readonly LedgerEntry[]): number {
  let latest = -Infinity; // a loop: spreading 150k entries into Math.max overflows the stack
  for (const e of entries) if (e.key.bucketStartMs > latest) latest = e.key.bucketStartMs;
  return latest;
}

/** Sorted by key, so concurrent writers lock and insert buckets in one order (no deadlock). */
function sortedByKey(entries: readonly LedgerEntry[]): LedgerEntry[] {
  return entries.map((e) => ({ id: entryId(e), e })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((x) => x.e);
}

/** partition_buckets columns of open shares. */
function openColumns(entries: readonly LedgerEntry[]): [string[], string[], string[], number[], number[], number[], number[], Buffer[]] {
  const cols: [string[], string[], string[], number[], number[], number[], number[], Buffer[]] = [[], [], [], [], [], [], [], []];
  for (const e of entries) {
    cols[0].push(e.key.domain);
    cols[1].push(e.key.region);
    cols[2].push(new Date(e.key.bucketStartMs).toISOString());
    cols[3].push(e.bucket.requests);
    cols[4].push(e.bucket.errors);
    cols[5].push(e.bucket.bytes);
    cols[6].push(e.bucket.latencyMaxMs);
    cols[7].push(serializeLatencySketch(e.bucket));
  }
  return cols;
}

/**
 * Byte strings as one bytea param and where each one starts (1-based) and how long it is, for
 * `substring(bytes FROM start FOR length)`: node-postgres sends a Buffer param as raw bytes, where
 * a bytea[] goes as text, each element hex-encoded and escaped, and PostgreSQL parses it back
 * (measured on the one-statement commit: a third less PostgreSQL time, ~4 % more records/s).
 */
function packedBytes(buffers: readonly Buffer[]): { bytes: Buffer; starts: number[]; lengths: number[] } {
  const starts = new Array<number>(buffers.length);
  const lengths = new Array<number>(buffers.length);
  let at = 1;
  for (let i = 0; i < buffers.length; i++) {
    starts[i] = at;
    lengths[i] = buffers[i].length;
    at += buffers[i].length;
  }
  return { bytes: Buffer.concat(buffers as Buffer[], at - 1), starts, lengths };
}

function keyColumns(items: ReadonlyArray<{ key: LedgerEntry['key'] }>): [string[], string[], string[]] {
  return [items.map((x) => x.key.domain), items.map((x) => x.key.region), items.map((x) => new Date(x.key.bucketStartMs).toISOString())];
}

function valueColumns(pubs: readonly BucketPublication[]): [number[], number[], number[], number[], number[], number[], number[], Buffer[]] {
  return [
    pubs.map((p) => p.bucket.requests),
    pubs.map((p) => p.bucket.errors),
    pubs.map((p) => p.bucket.bytes),
    pubs.map((p) => p.latency.p50),
    pubs.map((p) => p.latency.p90),
    pubs.map((p) => p.latency.p99),
    pubs.map((p) => p.latency.max),
    pubs.map((p) => p.sketch),
  ];
}
