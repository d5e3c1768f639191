import { DataSource } from 'typeorm';
import { Topics } from '@shardcast/contracts';
import { daysOf, isMissingPartition } from '@shardcast/platform';
import type { HistoryPartitionDays, OutboxMessage } from '@shardcast/platform';
import {
  bucketId,
  byteTotalOfDecimal,
  BucketPublication,
  deserializeLatencySketch,
  emptyDemandBucket,
  LedgerEntry,
  LedgerTransition,
  nextBucketRevision,
  ObservedCommit,
  observedBatchChunkEnds,
  observedBatchMessages,
  observedBucketJsonBound,
  PartitionLedger,
  serializeDemandObservedEvent,
  serializeDemandObservedPayload,
  StoredBucketRevision,
} from '@shardcast/telemetry';
import { DemandObservedTopics } from './demand-observed-topics';
import { CommitWrite, DemandStatements, encodeBucketKeys, encodeRows, mergedRevisionColumns, openShareColumns, revisionColumns, Statement } from './demand-statements';

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

/** Deltas per compaction: a snapshot of up to the open-bucket limit every this many commits costs little per commit. */
export const COMPACT_AFTER_DELTAS = 64;

const UNIQUE_VIOLATION = '23505';
const DEADLOCK_DETECTED = '40P01';
/** After a conflict a partition's next commits go through the transaction (its merges are likely to go on). */
const TRANSACTIONAL_COMMITS_AFTER_CONFLICT = 32;

/**
 * Offsets of a partition ingest never read (from..to, inclusive): its batch started past the
 * stored next offset because the records were deleted first (retention, DeleteRecords) or the
 * offset was reset.
 */
export interface OffsetGap {
  fromOffset: bigint;
  toOffset: bigint;
}

/** A stored ledger, and the latest minute its partition has closed (null when none). */
export type StoredLedger = PartitionLedger & { closedUpToMs: number | null };

/** A commit computed and ready to be written (see prepareCommit). */
export interface PreparedCommit {
  topic: string;
  partition: number;
  expectedOffset: bigint;
  /** Recorded in offset_gaps by the same commit. */
  gap?: OffsetGap;
  /** Buckets the commit closed. */
  events: number;
  /** The commit's events, held by one demand_outbox row: `demand.observed.v1` (one per closed bucket, revision 1 of each) and `.v2` (one per chunk), as enabled. */
  outbox: OutboxMessage[];
  /** The closed shares in key order, and revision 1 of each. */
  closed: LedgerEntry[];
  firstRevisions: BucketPublication[];
  revisionsAt: Date;
  /** The commit as its v2 events name it. */
  commit: ObservedCommit;
  /** What the commit's statements bind, encoded once for whichever path writes it. */
  write: CommitWrite;
}

/**
 * `outbox`: the events of the buckets the commit closed, for the writer to publish right away;
 * `outboxRows`: the demand_outbox rows that hold them, to delete once they are sent.
 */
export type CommitResult = { committed: true; events: number; outbox: OutboxMessage[]; outboxRows: string[] } | { committed: false; storedOffset: bigint };

const entryId = (e: LedgerEntry) => bucketId(e.key);

/** Runs a statement on the transaction's connection. */
type RunStatement = (statement: Statement) => Promise<any>; // rows are typed where they are read, as QueryRunner.query

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
  /** Per partition: the delta rows written since its last compaction (or found when it was loaded). */
  private readonly deltasSinceCompaction = new Map<string, number>();
  private readonly statements: DemandStatements;

  constructor(
    private readonly db: DataSource,
    private readonly schema: string,
    private readonly producedBy: string,
    /** demand_buckets' day partitions: a commit whose buckets have none yet (late, early or replayed) makes them. */
    private readonly partitions: HistoryPartitionDays,
    /** Which `demand.observed` topics the commits' events go to (the outbox row is the same either way). */
    private readonly observed: DemandObservedTopics = { v1: true, v2: false },
    /** A partition's open shares are rewritten as one delta after this many (0037): its deltas stay few. */
    private readonly compactAfterDeltas = COMPACT_AFTER_DELTAS,
  ) {
    this.statements = new DemandStatements(schema);
  }

  private get s(): string {
    return `"${this.schema}"`;
  }

  async storedOffset(topic: string, partition: number): Promise<bigint | null> {
    const rows = await this.db.query(`SELECT next_offset FROM ${this.s}.partition_progress WHERE topic = $1 AND partition = $2`, [topic, partition]);
    const stored = rows.length ? BigInt(rows[0].next_offset) : -1n;
    return stored >= 0n ? stored : null;
  }

  /**
   * Loads a partition's ledger: its progress and its open partial buckets, read in one snapshot (an
   * idle close elsewhere keeps the offset, so progress and shares read apart could disagree), and
   * the latest minute it has closed (`closedUpToMs`, null when none): see progressPastClosedMinutes.
   */
  async loadLedger(topic: string, partition: number): Promise<StoredLedger> {
    const { progressRows, rows, deltas } = await this.db.transaction('REPEATABLE READ', async (m) => ({
      progressRows: await m.query(
        `SELECT next_offset, max_event_time_ms, (extract(epoch from closed_up_to) * 1000)::bigint AS closed_up_to_ms
         FROM ${this.s}.partition_progress WHERE topic = $1 AND partition = $2`,
        [topic, partition],
      ),
      rows: await m.query(
        `SELECT domain, region, (extract(epoch from bucket_start) * 1000)::bigint AS start_ms, requests, errors, bytes, latency_max_ms, latency_sketch
         FROM ${this.s}.partition_buckets WHERE topic = $1 AND partition = $2`,
        [topic, partition],
      ),
      deltas: (await m.query(`SELECT count(*)::int AS n FROM ${this.s}.partition_open_deltas WHERE topic = $1 AND partition = $2`, [topic, partition]))[0].n as number,
    }));
    this.deltasSinceCompaction.set(`${topic}:${partition}`, deltas);
    const open = new Map<string, LedgerEntry>();
    for (const row of rows) {
      const entry: LedgerEntry = {
        key: { domain: row.domain, region: row.region, bucketStartMs: Number(row.start_ms) },
        bucket: {
          requests: Number(row.requests),
          errors: Number(row.errors),
          ...byteTotalOfDecimal(row.bytes), // exact past 2^53: bigint reads back as text
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
      closedUpToMs: p && p.closed_up_to_ms !== null ? Number(p.closed_up_to_ms) : null,
    };
  }

  /**
   * Stores a transition if the partition's stored offset is still `expected`: its open shares as a
   * delta (partition_open_deltas), its closed (final) shares added to demand_buckets as new revisions with
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
  prepareCommit(topic: string, partition: number, expectedOffset: bigint, transition: LedgerTransition, counts: StoredPartitionCounts, gap?: OffsetGap): PreparedCommit {
    const closing = new Set(transition.closed);
    const closed = sortedByKey(transition.closed);
    const at = new Date();
    const firstRevisions = closed.map((e) => nextBucketRevision(e.key, e.bucket, undefined, this.producedBy, at));
    // Shares the watermark closed go by time; evicted ones (rare: the open-bucket limit) by key.
    const evicted = transition.evicted.length > 0 ? new Set(transition.evicted) : undefined;
    const lastClosedStart = latestBucketStart(evicted ? closed.filter((e) => !evicted.has(e)) : closed);
    const { progress } = transition.next;
    const commit: ObservedCommit = { topic, partition, fromOffset: expectedOffset < 0n ? null : expectedOffset.toString(), commitOffset: progress.nextOffset.toString() };
    const chunkEnds = chunkEndsOf(firstRevisions);
    // The open shares go as one delta row (0037); every so often it holds all of them and replaces the rest.
    const id = `${topic}:${partition}`;
    const written = this.deltasSinceCompaction.get(id) ?? 0;
    const compact = written + 1 >= this.compactAfterDeltas;
    const openShares = compact ? [...transition.next.open.values()] : transition.changed.filter((e) => !closing.has(e));
    const tombstones = compact ? [] : transition.evicted;
    const lastDeltaStart = Math.max(latestBucketStart(openShares), latestBucketStart(tombstones)); // -Infinity: no delta
    if (compact) this.deltasSinceCompaction.set(id, 0);
    else if (Number.isFinite(lastDeltaStart)) this.deltasSinceCompaction.set(id, written + 1);
    return {
      topic,
      partition,
      expectedOffset,
      gap,
      events: closed.length,
      outbox: [...this.v1Messages(firstRevisions), ...this.v2Messages(commit, firstRevisions, chunkEnds, at)],
      commit,
      closed,
      firstRevisions,
      revisionsAt: at,
      write: {
        topic,
        partition,
        expectedOffset: expectedOffset.toString(),
        nextOffset: progress.nextOffset.toString(),
        maxEventTimeMs: Number.isFinite(progress.maxEventTimeMs) ? Math.trunc(progress.maxEventTimeMs) : null,
        accepted: counts.accepted,
        rejected: counts.rejected,
        late: counts.late,
        openShares: encodeRows(openShareColumns, openShares),
        closedUpTo: Number.isFinite(lastClosedStart) ? new Date(lastClosedStart).toISOString() : null,
        evictedShares: encodeBucketKeys(tombstones),
        lastDeltaStart: Number.isFinite(lastDeltaStart) ? new Date(lastDeltaStart).toISOString() : null,
        compact,
        firstRevisions: encodeRows(revisionColumns, firstRevisions),
        revisionsAt: at.toISOString(),
        chunkEnds,
      },
    };
  }

  /**
   * Writes a prepared commit. A statement refused for lack of a partition applied nothing: the
   * commit's days get their partitions and it is written again, the same.
   */
  async commitPrepared(prepared: PreparedCommit): Promise<CommitResult> {
    try {
      return await this.commitPreparedOnce(prepared);
    } catch (err) {
      if (!isMissingPartition(err)) throw err;
      await this.partitions.ensureMinuteDays(daysOf(prepared.closed.map((e) => e.key.bucketStartMs)));
      return this.commitPreparedOnce(prepared);
    }
  }

  private async commitPreparedOnce(prepared: PreparedCommit): Promise<CommitResult> {
    const id = `${prepared.topic}:${prepared.partition}`;
    const slow = this.transactionalCommits.get(id) ?? 0;
    if (slow > 0) {
      this.transactionalCommits.set(id, slow - 1);
    } else if (!prepared.gap) {
      // (A batch that found a gap, rare, is recorded with it by the transaction.)
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
    return this.commitInTransaction(prepared);
  }

  /**
   * The usual commit as one autocommitted statement (one round trip instead of ten); a bucket
   * another partition has published already fails it, and the caller merges in a transaction.
   */
  private async commitInOneStatement(prepared: PreparedCommit): Promise<CommitResult> {
    const { text, values } = this.statements.commitInOneStatement(prepared.write);
    const [row]: Array<{ committed: number; stored: string | null; outbox_row: string | null }> = await this.db.query(text, values);
    if (row.committed > 0) return { committed: true, events: prepared.events, outbox: prepared.outbox, outboxRows: row.outbox_row === null ? [] : [row.outbox_row] };
    return { committed: false, storedOffset: row.stored === null ? -1n : BigInt(row.stored) };
  }

  /**
   * The commit in a transaction, merging closed shares into buckets other partitions published
   * first, and recording the offsets the batch skipped, if any.
   */
  private async commitInTransaction(prepared: PreparedCommit): Promise<CommitResult> {
    const { write } = prepared;
    const q = this.db.createQueryRunner();
    const run = (statement: Statement) => q.query(statement.text, statement.values);
    await q.connect();
    try {
      await q.startTransaction('READ COMMITTED');
      await run(this.statements.insertProgressRow(write));
      const [row] = await run(this.statements.lockProgress(write));
      const stored = BigInt(row.next_offset);
      if (stored !== prepared.expectedOffset) {
        await q.rollbackTransaction();
        return { committed: false, storedOffset: stored };
      }
      if (write.compact || write.closedUpTo !== null) await run(this.statements.deleteEarlierDeltas(write));
      if (write.lastDeltaStart !== null) await run(this.statements.insertOpenDelta(write));
      await run(this.statements.updateProgress(write));
      if (prepared.gap) await run(this.statements.insertOffsetGap(write, prepared.gap.fromOffset.toString(), prepared.gap.toOffset.toString()));
      const { outbox, outboxRows } = await this.publishClosedBuckets(run, prepared);
      await q.commitTransaction();
      return { committed: true, events: prepared.events, outbox, outboxRows };
    } catch (err) {
      if (q.isTransactionActive) await q.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await q.release();
    }
  }

  /**
   * Adds this partition's closed shares to demand_buckets, each as the bucket's next revision with
   * its outbox event. A bucket nobody has closed yet (the usual case) is one insert; one that
   * another partition closed first is locked, read, merged and updated. The insert waits on a
   * concurrent insert of the same bucket and then skips it, so the second pass always sees the
   * other share. Keys go in sorted order so concurrent partitions cannot deadlock.
   */
  private async publishClosedBuckets(run: RunStatement, prepared: PreparedCommit): Promise<{ outbox: OutboxMessage[]; outboxRows: string[] }> {
    const { closed, write } = prepared;
    if (closed.length === 0) return { outbox: [], outboxRows: [] };
    const conflicting: Array<{ ordinal: string }> = await run(this.statements.insertFirstRevisions(write));
    if (conflicting.length === 0) {
      const [{ id }] = await run(this.statements.insertOutboxRow(write, prepared.firstRevisions.map((p) => p.revision), write.chunkEnds));
      return { outbox: prepared.outbox, outboxRows: [id] };
    }
    const indexes = conflicting.map((c) => Number(c.ordinal) - 1);
    const merged = await this.mergeIntoStored(
      run,
      indexes.map((i) => closed[i]),
      prepared.revisionsAt,
    );
    const published = prepared.firstRevisions.slice(); // the prepared commit stays as prepared
    for (const [k, i] of indexes.entries()) published[i] = merged[k];
    // Merged revisions are larger: the chunks are cut again, and the row keeps that cut.
    const chunkEnds = chunkEndsOf(published);
    const [{ id }] = await run(this.statements.insertOutboxRow(write, published.map((p) => p.revision), chunkEnds));
    return { outbox: [...this.v1Messages(published), ...this.v2Messages(prepared.commit, published, chunkEnds, prepared.revisionsAt)], outboxRows: [id] };
  }

  /** One `demand.observed.v1` event per revision, when v1 is on. */
  private v1Messages(publications: readonly BucketPublication[]): OutboxMessage[] {
    if (!this.observed.v1) return [];
    return publications.map((p) => ({ eventId: p.event.eventId, topic: Topics.demandObserved, key: p.key.domain, payload: serializeDemandObservedEvent(p.event) }));
  }

  /** The commit's `demand.observed.v2` events (one per chunk), when v2 is on: what the outbox poll rebuilds from its row. */
  private v2Messages(commit: ObservedCommit, publications: readonly BucketPublication[], chunkEnds: readonly number[], at: Date): OutboxMessage[] {
    if (!this.observed.v2 || publications.length === 0) return [];
    const entries = publications.map((p, position) => ({ position, json: serializeDemandObservedPayload(p.payload) }));
    return observedBatchMessages(commit, chunkEnds, entries, this.producedBy, at.toISOString()).map((m) => ({ ...m, topic: Topics.demandObservedV2 }));
  }

  /** The next revision of buckets other partitions have closed before (stored shares + this one), in `entries` order. */
  private async mergeIntoStored(run: RunStatement, entries: LedgerEntry[], at: Date): Promise<BucketPublication[]> {
    const rows: Array<{ domain: string; region: string; start_ms: string; revision: number } & Omit<PartialRow, 'domain' | 'region' | 'start_ms'>> = await run(
      this.statements.lockStoredRevisions(encodeBucketKeys(entries)),
    );
    const stored = new Map<string, StoredBucketRevision>();
    for (const row of rows) {
      stored.set(bucketId({ domain: row.domain, region: row.region, bucketStartMs: Number(row.start_ms) }), {
        revision: row.revision,
        bucket: {
          requests: Number(row.requests),
          errors: Number(row.errors),
          ...byteTotalOfDecimal(row.bytes), // exact past 2^53: bigint reads back as text
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
    await run(this.statements.updateRevisions(encodeRows(mergedRevisionColumns, merged), at.toISOString()));
    return merged;
  }
}

/** Where a commit's revisions are cut into v2 chunks, from bounds on their entries' sizes (nothing serialised). */
function chunkEndsOf(publications: readonly BucketPublication[]): number[] {
  return observedBatchChunkEnds(publications.map((p) => observedBucketJsonBound(p.key.domain, p.key.region, p.sketch.length)));
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
