import { BucketPublication, BUCKET_MS, LedgerEntry, packLatencySketches, serializeLatencySketch } from '@shardcast/telemetry';

/** A statement's text and the values of its parameters, in position order. */
export interface Statement {
  text: string;
  values: unknown[];
}

/** The parameters of one statement: a value's position is the order it was bound in, never written by hand. */
export class StatementParams {
  readonly values: unknown[] = [];

  /** `$n::sqlType` for `value`. Bind a value once and reuse the reference: every bound value must be used. */
  bind(value: unknown, sqlType: string): string {
    this.values.push(Array.isArray(value) && ArrayParam.takes(value) ? new ArrayParam(value) : value);
    return `$${this.values.length}::${sqlType}`;
  }
}

/**
 * An array of numbers, bigints or strings sent as one PostgreSQL array literal, made when the query
 * is sent (node-postgres calls `toPostgres`). node-postgres' own encoding concatenates a quoted,
 * escaped string per element: over 100,000 domains it was a third of everything ingest allocated,
 * and the garbage collector a third of its CPU. Here a numeric array is one `join`, and a text
 * array one `join` inside quotes when no element holds a quote or a backslash (the rest escaped).
 */
export class ArrayParam {
  constructor(readonly values: readonly unknown[]) {}

  /** Whether every element is one this encodes (else node-postgres' encoding applies). */
  static takes(values: readonly unknown[]): boolean {
    for (let i = 0; i < values.length; i++) {
      const t = typeof values[i];
      if (t !== 'number' && t !== 'bigint' && t !== 'string') return false;
    }
    return true;
  }

  toPostgres(): string {
    const values = this.values;
    let numeric = true;
    let plain = true;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v === 'string') {
        numeric = false;
        if (plain && NEEDS_ESCAPE.test(v)) plain = false;
      }
    }
    if (numeric) return `{${values.join(',')}}`;
    if (plain) return values.length === 0 ? '{}' : `{"${values.join('","')}"}`;
    return `{${values.map((v) => (typeof v === 'string' ? `"${v.replace(ESCAPED, '\\$&')}"` : String(v))).join(',')}}`;
  }
}
const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/** Builds a statement with fresh parameters. */
function statement(build: (p: StatementParams) => string): Statement {
  const p = new StatementParams();
  const text = build(p);
  return { text, values: p.values };
}

/** A table column written from rows: named once, with its SQL type and how a row gives its value. */
export interface Column<Row> {
  column: string;
  sqlType: string;
  valueOf: (row: Row) => unknown;
  /** A bytea column's values already packed (else its valueOf Buffers are concatenated). */
  packed?: (rows: readonly Row[]) => PackedBytes;
}

/**
 * Byte strings as one bytea param and where each one starts (1-based) and how long it is, for
 * `substring(bytes FROM start FOR length)`: node-postgres sends a Buffer param as raw bytes, where
 * a bytea[] goes as text, each element hex-encoded and escaped, and PostgreSQL parses it back
 * (measured on the one-statement commit: a third less PostgreSQL time, ~4 % more records/s).
 */
export interface PackedBytes {
  bytes: Buffer;
  starts: number[];
  lengths: number[];
}

function packedBytes(buffers: readonly Buffer[]): PackedBytes {
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

/** Rows as their columns' values, computed once: an array per column, bytea columns packed. */
export interface EncodedRows {
  readonly count: number;
  readonly columns: ReadonlyArray<{ column: string; sqlType: string; values: unknown[] | PackedBytes }>;
}

export function encodeRows<Row>(columns: ReadonlyArray<Column<Row>>, rows: readonly Row[]): EncodedRows {
  return {
    count: rows.length,
    columns: columns.map(({ column, sqlType, valueOf, packed }) => {
      if (packed) return { column, sqlType, values: packed(rows) };
      const values = rows.map(valueOf);
      return { column, sqlType, values: sqlType === 'bytea' ? packedBytes(values as Buffer[]) : values };
    }),
  };
}

/** Encoded rows bound as the parameters of an `unnest`, with the SQL expression of each column's value. */
export interface UnnestedRows {
  /** `unnest(…) [WITH ORDINALITY] AS t(…)`; with ordinality, `t.ordinal` numbers the rows from 1. */
  from: string;
  columns: string[];
  valueOf: Record<string, string>;
  /** The array param of each column that is not packed (reusable elsewhere in the statement). */
  arrays: Record<string, string>;
}

export function unnestRows(p: StatementParams, rows: EncodedRows, { ordinality = false } = {}): UnnestedRows {
  const unnestArgs: string[] = [];
  const aliases: string[] = [];
  const valueOf: Record<string, string> = {};
  const arrayOf: Record<string, string> = {};
  for (const { column, sqlType, values } of rows.columns) {
    if (Array.isArray(values)) {
      unnestArgs.push((arrayOf[column] = p.bind(values, `${sqlType}[]`)));
      aliases.push(column);
      valueOf[column] = `t.${column}`;
    } else {
      const bytes = p.bind(values.bytes, sqlType);
      unnestArgs.push(p.bind(values.starts, 'int[]'), p.bind(values.lengths, 'int[]'));
      aliases.push(`${column}_start`, `${column}_length`);
      valueOf[column] = `substring(${bytes} FROM t.${column}_start FOR t.${column}_length)`;
    }
  }
  if (ordinality) aliases.push('ordinal');
  return {
    from: `unnest(${unnestArgs.join(', ')})${ordinality ? ' WITH ORDINALITY' : ''} AS t(${aliases.join(', ')})`,
    columns: rows.columns.map((c) => c.column),
    valueOf,
    arrays: arrayOf,
  };
}

/** Binds the arrays of some of the rows' columns only (they must not be packed). */
function bindArrays(p: StatementParams, rows: EncodedRows, columns: readonly string[]): Record<string, string> {
  const refs: Record<string, string> = {};
  for (const { column, sqlType, values } of rows.columns) if (columns.includes(column)) refs[column] = p.bind(values, `${sqlType}[]`);
  return refs;
}

type BucketKeyed = { key: LedgerEntry['key'] };
type BucketShare = BucketKeyed & { bucket: Readonly<LedgerEntry['bucket']> };

const BUCKET_KEY = ['domain', 'region', 'bucket_start'] as const;

/** A bucket start as ISO text: a commit's buckets share a few minutes, so the last few are kept. */
const isoTimes = new Map<number, string>();
function isoTimeOf(ms: number): string {
  let iso = isoTimes.get(ms);
  if (iso === undefined) {
    if (isoTimes.size >= 64) isoTimes.clear();
    isoTimes.set(ms, (iso = new Date(ms).toISOString()));
  }
  return iso;
}

const bucketKeyColumns: Array<Column<BucketKeyed>> = [
  { column: 'domain', sqlType: 'text', valueOf: (r) => r.key.domain },
  { column: 'region', sqlType: 'text', valueOf: (r) => r.key.region },
  { column: 'bucket_start', sqlType: 'timestamptz', valueOf: (r) => isoTimeOf(r.key.bucketStartMs) },
];

/** The counts of a bucket (or a share of one), in both tables. */
const bucketTotalColumns: Array<Column<BucketShare>> = [
  { column: 'requests', sqlType: 'bigint', valueOf: (r) => r.bucket.requests },
  { column: 'errors', sqlType: 'bigint', valueOf: (r) => r.bucket.errors },
  // Past 2^53 the exact bigint: node-postgres writes it in decimal (toString), never through a double.
  { column: 'bytes', sqlType: 'bigint', valueOf: (r) => r.bucket.bytesBig ?? r.bucket.bytes },
];

/** A partition's open share of a bucket, as the arrays of its delta (topic and partition are the commit's; 0037). */
export const openShareColumns: Array<Column<LedgerEntry>> = [
  ...bucketKeyColumns,
  ...bucketTotalColumns,
  { column: 'latency_max_ms', sqlType: 'float8', valueOf: (e) => e.bucket.latencyMaxMs },
  { column: 'latency_sketch', sqlType: 'bytea', valueOf: (e) => serializeLatencySketch(e.bucket), packed: (rows) => packLatencySketches(rows.map((e) => e.bucket)) },
];

/** demand_buckets: a bucket revision's values (its revision number and time are written beside them). */
export const revisionColumns: Array<Column<BucketPublication>> = [
  ...bucketKeyColumns,
  ...bucketTotalColumns,
  { column: 'latency_p50_ms', sqlType: 'float8', valueOf: (p) => p.latency.p50 },
  { column: 'latency_p90_ms', sqlType: 'float8', valueOf: (p) => p.latency.p90 },
  { column: 'latency_p99_ms', sqlType: 'float8', valueOf: (p) => p.latency.p99 },
  { column: 'latency_max_ms', sqlType: 'float8', valueOf: (p) => p.latency.max },
  { column: 'latency_sketch', sqlType: 'bytea', valueOf: (p) => p.sketch },
];

/** demand_buckets rows that replace a stored revision: the number varies by row. */
export const mergedRevisionColumns: Array<Column<BucketPublication>> = [...revisionColumns, { column: 'revision', sqlType: 'int', valueOf: (p) => p.revision }];

export function encodeBucketKeys(rows: readonly BucketKeyed[]): EncodedRows {
  return encodeRows(bucketKeyColumns, rows);
}

/** Everything a commit writes, encoded once for whichever path writes it. */
export interface CommitWrite {
  topic: string;
  partition: number;
  expectedOffset: string;
  nextOffset: string;
  maxEventTimeMs: number | null;
  accepted: number;
  rejected: number;
  late: number;
  openShares: EncodedRows;
  /** The latest start of the buckets the watermark closed (ISO), null when none. */
  closedUpTo: string | null;
  /** Keys (encodeBucketKeys) of the shares closed early by the open-bucket limit: the delta's tombstones. */
  evictedShares: EncodedRows;
  /** The latest start among openShares and evictedShares (ISO), null when the commit writes no delta. */
  lastDeltaStart: string | null;
  /** openShares are every open share of the partition: the delta replaces the earlier ones. */
  compact: boolean;
  /** Revision 1 of each closed bucket, in key order. */
  firstRevisions: EncodedRows;
  /** When the revisions were made (demand_buckets.updated_at, their events' occurredAt). */
  revisionsAt: string;
  /** Where the closed buckets' list is cut into `demand.observed.v2` chunks (exclusive ends), kept in the outbox row. */
  chunkEnds: number[];
}

/** A commit's partition: the key of its partition_progress row and of its partition_open_deltas rows. */
const partitionColumns: Array<Column<CommitWrite>> = [
  { column: 'topic', sqlType: 'text', valueOf: (w) => w.topic },
  { column: 'partition', sqlType: 'int', valueOf: (w) => w.partition },
];

/** partition_progress as a commit moves it; `adds`: a counter the commit adds to; `rises`: it only ever moves up. */
const progressColumns: Array<Column<CommitWrite> & { adds?: true; rises?: true }> = [
  { column: 'next_offset', sqlType: 'bigint', valueOf: (w) => w.nextOffset },
  { column: 'max_event_time_ms', sqlType: 'bigint', valueOf: (w) => w.maxEventTimeMs },
  { column: 'accepted_records', sqlType: 'bigint', valueOf: (w) => w.accepted, adds: true },
  { column: 'rejected_records', sqlType: 'bigint', valueOf: (w) => w.rejected, adds: true },
  { column: 'late_records', sqlType: 'bigint', valueOf: (w) => w.late, adds: true },
  // Shares of minutes up to here are closed: a delta's share of one is no longer open (0037).
  { column: 'closed_up_to', sqlType: 'timestamptz', valueOf: (w) => w.closedUpTo, rises: true },
];

/** partition_open_deltas' arrays, from the open shares' columns (the sketches packed: bytes, starts, lengths). */
const DELTA_ARRAYS: Record<string, string> = {
  domain: 'domains',
  region: 'regions',
  bucket_start: 'bucket_starts',
  requests: 'requests',
  errors: 'errors',
  bytes: 'bytes',
  latency_max_ms: 'latency_max_ms',
};
const EVICTED_ARRAYS: Record<string, string> = { domain: 'evicted_domains', region: 'evicted_regions', bucket_start: 'evicted_bucket_starts' };

/** One row's values as scalar params, by column. */
type BoundRow = Record<string, string>;

/** The params of an outbox row's commit columns. */
type OutboxSource = Record<'topic' | 'partition' | 'from_offset' | 'commit_offset' | 'chunk_ends', string>;

function bindRow<Row>(p: StatementParams, columns: ReadonlyArray<Column<Row>>, row: Row): BoundRow {
  const refs: BoundRow = {};
  for (const { column, sqlType, valueOf } of columns) refs[column] = p.bind(valueOf(row), sqlType);
  return refs;
}

/** `column = value AND …` over a bound row. */
const matching = (row: BoundRow) =>
  Object.entries(row)
    .map(([column, value]) => `${column} = ${value}`)
    .join(' AND ');

/** The condition every change of the one-statement commit is gated on; the transaction checks the offset before. */
const MOVED = 'EXISTS (SELECT 1 FROM moved)';
const UNGATED = 'true';

const keysMatch = (a: string, b: string) => BUCKET_KEY.map((c) => `${a}.${c} = ${b}.${c}`).join(' AND ');
const isKey = (column: string) => (BUCKET_KEY as readonly string[]).includes(column);

/**
 * A commit's SQL, per table: the one-statement commit is these statements as CTEs, gated on its
 * compare-and-set; the transaction issues the same ones, one by one.
 */
export class DemandStatements {
  private readonly s: string;

  constructor(schema: string) {
    this.s = `"${schema}"`;
  }

  /**
   * The usual commit as one autocommitted statement: the partition's progress moves by
   * compare-and-set on the expected offset (its row is inserted when -1 is expected), and every
   * other change is gated on that. Closed shares are plain inserts into demand_buckets, so a
   * bucket another partition has published already fails the whole statement (unique violation).
   * Returns `committed` (0: the offset did not match), `stored` (the stored offset) and `outbox_row`.
   */
  commitInOneStatement(w: CommitWrite): Statement {
    return statement((p) => {
      const partition = bindRow(p, partitionColumns, w);
      const expectedOffset = p.bind(w.expectedOffset, 'bigint');
      const progress = bindRow(p, progressColumns, w);
      const revisions = unnestRows(p, w.firstRevisions, { ordinality: true });
      return `WITH inserted_progress AS (
         INSERT INTO ${this.s}.partition_progress (${[...Object.keys(partition), ...Object.keys(progress)].join(', ')})
         SELECT ${[...Object.values(partition), ...Object.values(progress)].join(', ')} WHERE ${expectedOffset} = -1
         ON CONFLICT (topic, partition) DO NOTHING
         RETURNING 1
       ), updated_progress AS (${this.progressUpdate(partition, expectedOffset, progress)}
       ), moved AS (
         SELECT 1 FROM inserted_progress UNION ALL SELECT 1 FROM updated_progress
       ), earlier_deltas AS (${this.earlierDeltasDelete(partition, w.compact ? undefined : progress.closed_up_to, MOVED)}
       )${w.lastDeltaStart !== null ? `, open_delta AS (${this.openDeltaInsert(p, partition, w, MOVED)}
       )` : ''}, published AS (${this.firstRevisionsInsert(p, w, revisions, MOVED)}
       ), events AS (${this.outboxRowInsert(revisions.arrays, (domains) => `array_fill(1, ARRAY[cardinality(${domains})])`, { topic: partition.topic, partition: partition.partition, from_offset: expectedOffset, commit_offset: progress.next_offset, chunk_ends: p.bind(w.chunkEnds, 'int[]') }, MOVED)}
       )
       SELECT (SELECT count(*) FROM moved)::int AS committed,
              (SELECT next_offset FROM ${this.s}.partition_progress WHERE ${matching(partition)})::text AS stored,
              (SELECT id FROM events) AS outbox_row`;
    });
  }

  /** Transaction: offsets from..to (inclusive) of the partition were never read (an offset_gaps row). */
  insertOffsetGap(w: CommitWrite, from: string, to: string): Statement {
    return statement((p) => {
      const partition = bindRow(p, partitionColumns, w);
      const [first, last] = [p.bind(from, 'bigint'), p.bind(to, 'bigint')];
      return `INSERT INTO ${this.s}.offset_gaps (${Object.keys(partition).join(', ')}, from_offset, to_offset, count)
         VALUES (${Object.values(partition).join(', ')}, ${first}, ${last}, ${last} - ${first} + 1)
         ON CONFLICT DO NOTHING`;
    });
  }

  /** Transaction: the partition's progress row, created at -1 if missing so that it can be locked. */
  insertProgressRow(w: CommitWrite): Statement {
    return statement((p) => {
      const partition = bindRow(p, partitionColumns, w);
      return `INSERT INTO ${this.s}.partition_progress (${Object.keys(partition).join(', ')}, next_offset)
       VALUES (${Object.values(partition).join(', ')}, -1) ON CONFLICT DO NOTHING`;
    });
  }

  /** Transaction: the stored offset (`next_offset`), locked until the commit. */
  lockProgress(w: CommitWrite): Statement {
    return statement((p) => `SELECT next_offset FROM ${this.s}.partition_progress WHERE ${matching(bindRow(p, partitionColumns, w))} FOR UPDATE`);
  }

  updateProgress(w: CommitWrite): Statement {
    return statement((p) => this.progressUpdate(bindRow(p, partitionColumns, w), p.bind(w.expectedOffset, 'bigint'), bindRow(p, progressColumns, w)));
  }

  /** Transaction: the deltas this commit makes obsolete (before its own delta is inserted). */
  deleteEarlierDeltas(w: CommitWrite): Statement {
    return statement((p) => {
      const partition = bindRow(p, partitionColumns, w);
      return this.earlierDeltasDelete(partition, w.compact ? undefined : p.bind(w.closedUpTo, 'timestamptz'), UNGATED);
    });
  }

  /** Transaction: the commit's delta (only when lastDeltaStart is set). */
  insertOpenDelta(w: CommitWrite): Statement {
    return statement((p) => this.openDeltaInsert(p, bindRow(p, partitionColumns, w), w, UNGATED));
  }

  /**
   * Transaction: revision 1 of the closed buckets nobody has closed yet; returns the `ordinal`
   * (1-based, in w.firstRevisions) of each bucket another partition closed first.
   */
  insertFirstRevisions(w: CommitWrite): Statement {
    return statement((p) => {
      const revisions = unnestRows(p, w.firstRevisions, { ordinality: true });
      return `WITH inserted AS (${this.firstRevisionsInsert(p, w, revisions, UNGATED)}
         ON CONFLICT DO NOTHING
         RETURNING ${BUCKET_KEY.join(', ')}
       )
       SELECT t.ordinal FROM ${revisions.from} WHERE NOT EXISTS (SELECT 1 FROM inserted WHERE ${keysMatch('inserted', 't')})`;
    });
  }

  /** Transaction: the stored revisions of `keys` (see encodeBucketKeys), locked, in key order. */
  lockStoredRevisions(keys: EncodedRows): Statement {
    return statement(
      (p) => `SELECT db.domain, db.region, (extract(epoch from db.bucket_start) * 1000)::bigint AS start_ms, db.revision,
              db.requests, db.errors, db.bytes, db.latency_max_ms, db.latency_sketch
       FROM ${this.s}.demand_buckets db JOIN ${unnestRows(p, keys).from} ON ${keysMatch('db', 't')}
       ORDER BY db.domain, db.region, db.bucket_start
       FOR UPDATE OF db`,
    );
  }

  /** Transaction: stored revisions replaced by merged ones (rows of mergedRevisionColumns). */
  updateRevisions(merged: EncodedRows, revisionsAt: string): Statement {
    return statement((p) => {
      const rows = unnestRows(p, merged);
      const values = rows.columns.filter((c) => !isKey(c)).map((c) => `${c} = ${rows.valueOf[c]}`);
      return `UPDATE ${this.s}.demand_buckets db SET ${values.join(', ')}, updated_at = ${p.bind(revisionsAt, 'timestamptz')}
       FROM ${rows.from} WHERE ${keysMatch('db', 't')}`;
    });
  }

  /**
   * Transaction: the outbox row naming the revisions published (`revisions`, in w.firstRevisions
   * order) and cut at `chunkEnds` (merged revisions are larger than the first ones); returns its `id`.
   */
  insertOutboxRow(w: CommitWrite, revisions: number[], chunkEnds: number[]): Statement {
    return statement((p) => {
      const keys = bindArrays(p, w.firstRevisions, BUCKET_KEY);
      const { topic, partition } = bindRow(p, partitionColumns, w);
      const source = { topic, partition, from_offset: p.bind(w.expectedOffset, 'bigint'), commit_offset: p.bind(w.nextOffset, 'bigint'), chunk_ends: p.bind(chunkEnds, 'int[]') };
      return this.outboxRowInsert(keys, () => p.bind(revisions, 'int[]'), source, UNGATED);
    });
  }

  /** Moves the progress by compare-and-set on the expected offset (in the transaction it holds: the row is locked and was checked). */
  private progressUpdate(partition: BoundRow, expectedOffset: string, progress: BoundRow): string {
    const values = progressColumns.map(({ column, adds, rises }) =>
      `${column} = ${adds ? `${column} + ${progress[column]}` : rises ? `greatest(${column}, ${progress[column]})` : progress[column]}`,
    );
    return `
         UPDATE ${this.s}.partition_progress SET ${values.join(', ')}, updated_at = now()
         WHERE ${matching(partition)} AND next_offset = ${expectedOffset}
         RETURNING 1`;
  }

  /**
   * One row for the commit's changed open shares and evicted keys (0037): what was a row per share,
   * upserted on every commit and deleted at close, is one insert of the arrays the commit binds anyway.
   */
  private openDeltaInsert(p: StatementParams, partition: BoundRow, w: CommitWrite, gate: string): string {
    const columns = ['last_bucket_start'];
    const values = [p.bind(w.lastDeltaStart, 'timestamptz')];
    for (const { column, sqlType, values: rows } of w.openShares.columns) {
      if (Array.isArray(rows)) {
        columns.push(DELTA_ARRAYS[column]);
        values.push(p.bind(rows, `${sqlType}[]`));
      } else {
        columns.push('latency_sketches', 'sketch_starts', 'sketch_lengths');
        values.push(p.bind(rows.bytes, 'bytea'), p.bind(rows.starts, 'int[]'), p.bind(rows.lengths, 'int[]'));
      }
    }
    for (const { column, sqlType, values: keys } of w.evictedShares.columns) {
      columns.push(EVICTED_ARRAYS[column]);
      values.push(p.bind(keys, `${sqlType}[]`));
    }
    return `
         INSERT INTO ${this.s}.partition_open_deltas (${[...Object.keys(partition), ...columns].join(', ')})
         SELECT ${[...Object.values(partition), ...values].join(', ')}
         WHERE ${gate}`;
  }

  /**
   * The partition's deltas every key of which the watermark has closed up to `closedUpTo`: nothing
   * in them is open (every open share starts after every closed one). Without it, all of them: a
   * compacting commit's delta holds every open share.
   */
  private earlierDeltasDelete(partition: BoundRow, closedUpTo: string | undefined, gate: string): string {
    return `
         DELETE FROM ${this.s}.partition_open_deltas
         WHERE ${matching(partition)}${closedUpTo === undefined ? '' : ` AND last_bucket_start <= ${closedUpTo}`} AND ${gate}`;
  }

  /** Revision 1 of the closed buckets, inserted in key order so concurrent writers cannot deadlock. */
  private firstRevisionsInsert(p: StatementParams, w: CommitWrite, revisions: UnnestedRows, gate: string): string {
    return `
         INSERT INTO ${this.s}.demand_buckets (${revisions.columns.join(', ')}, bucket_seconds, revision, updated_at)
         SELECT ${revisions.columns.map((c) => revisions.valueOf[c]).join(', ')}, ${p.bind(BUCKET_MS / 1000, 'int')}, 1, ${p.bind(w.revisionsAt, 'timestamptz')}
         FROM ${revisions.from}
         WHERE ${gate}
         ORDER BY t.ordinal`;
  }

  /**
   * One demand_outbox row naming the commit's revisions by key arrays (none when it published
   * nothing), and the commit itself (`source`: its partition, offsets and chunk ends).
   */
  private outboxRowInsert(keys: BoundRow, revisionsOf: (domains: string) => string, source: OutboxSource, gate: string): string {
    return `
         INSERT INTO ${this.s}.demand_outbox (domains, regions, bucket_starts, revisions, source_topic, source_partition, from_offset, commit_offset, chunk_ends)
         SELECT ${keys.domain}, ${keys.region}, ${keys.bucket_start}, ${revisionsOf(keys.domain)}, ${source.topic}, ${source.partition}, ${source.from_offset}, ${source.commit_offset}, ${source.chunk_ends}
         WHERE cardinality(${keys.domain}) > 0 AND ${gate}
         RETURNING id::text AS id`;
  }
}
