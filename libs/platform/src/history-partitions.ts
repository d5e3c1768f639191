import type { DataSource, QueryRunner } from 'typeorm';
import { DAY_MS, dayOf, dayOfSuffix, daySuffix, HistoryPlan, HistoryRetention, HistoryState, planHistory } from './history-plan';

/**
 * A history's tables: `minute` and `hourly`, both range-partitioned by `time` into UTC days
 * (created by the service's migrations), with the same key columns. The roll-up adds `sums`
 * exactly (numeric sums, cast back to bigint), keeps the max of `maxes` and the `weight`-weighted
 * mean of `weightedMeans`.
 */
export interface HistoryTables {
  schema: string;
  minute: string;
  hourly: string;
  keys: readonly string[];
  time: string;
  sums: readonly string[];
  maxes: readonly string[];
  weightedMeans: ReadonlyArray<{ column: string; weight: string }>;
  /**
   * A table (history text PRIMARY KEY, rolled_up_before timestamptz) that records, in the detach's
   * transaction, the end of the newest day rolled up: a writer whose rows replace earlier ones
   * (the forecaster keeps a bucket's latest revision) refuses rows before it, which would be added
   * to the hourly totals a second time.
   */
  rollUpMarker?: string;
}

/** What a run did, for the log. `skipped`: another instance holds the job's lock. */
export type HistoryRunReport = { skipped: true } | ({ skipped: false } & HistoryPlan);

/** Makes a history's minute partitions on demand, for a write that found none. */
export interface HistoryPartitionDays {
  /** Creates the minute partitions of these days that are missing (safe to race with other creators). */
  ensureMinuteDays(days: readonly number[]): Promise<void>;
  /** The same for the hourly table (a copy of hours rolled up elsewhere). */
  ensureHourlyDays(days: readonly number[]): Promise<void>;
}

/** Where a history's partitions are changed: the job's steps, and partitions made on demand. */
export interface HistoryPartitionStore extends HistoryPartitionDays {
  /** Runs `job` if no other instance is running it (a session advisory lock), else returns null. */
  exclusively<T>(job: () => Promise<T>): Promise<T | null>;
  state(nowMs: number): Promise<HistoryState>;
  /**
   * Detaches a day's minute partition (renamed as detached): writes of that day go to a new
   * partition from then on. `rollingUp`: its rows will be rolled up (the rollUpMarker moves).
   */
  detachMinuteDay(day: number, rollingUp: boolean): Promise<void>;
  /** Adds a detached day's buckets to the hourly table (if it has any) and drops it, in one transaction. */
  rollUpDetachedDay(day: number): Promise<void>;
  dropDetachedDay(day: number): Promise<void>;
  dropHourlyDay(day: number): Promise<void>;
}

/** One run of the job: plan from the partitions as they are, then apply, oldest first. */
export async function runHistoryJob(store: HistoryPartitionStore, retention: HistoryRetention, nowMs: number): Promise<HistoryRunReport> {
  const report = await store.exclusively(async () => {
    const plan = planHistory(await store.state(nowMs), retention);
    await store.ensureMinuteDays(plan.create);
    for (const day of plan.dropDetached) await store.dropDetachedDay(day);
    for (const day of plan.finishRollUps) await store.rollUpDetachedDay(day);
    // Detached first, then dropped: a detach locks the parent before the partition, as a write does.
    for (const day of plan.dropMinute) {
      await store.detachMinuteDay(day, false);
      await store.dropDetachedDay(day);
    }
    for (const day of plan.dropEmpty) {
      await store.detachMinuteDay(day, false);
      await store.rollUpDetachedDay(day);
    }
    for (const day of plan.rollUp) {
      await store.detachMinuteDay(day, true);
      await store.rollUpDetachedDay(day);
    }
    for (const day of plan.dropHourly) await store.dropHourlyDay(day);
    return plan;
  });
  return report === null ? { skipped: true } : { skipped: false, ...report };
}

/** PostgreSQL's error for a row no partition accepts. */
export function isMissingPartition(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23514' && /no partition of relation/.test(e.message ?? '');
}

/** The days (UTC) of these instants, without repeats. */
export function daysOf(instantsMs: Iterable<number>): number[] {
  return [...new Set([...instantsMs].map(dayOf))];
}

/** A history's partitions in PostgreSQL. */
export class PostgresHistoryPartitions implements HistoryPartitionStore {
  constructor(
    private readonly db: DataSource,
    private readonly tables: HistoryTables,
  ) {}

  private qualified(table: string): string {
    return `"${this.tables.schema}"."${table}"`;
  }

  private minutePartition(day: number): string {
    return `${this.tables.minute}_${daySuffix(day)}`;
  }

  private detachedPartition(day: number): string {
    return `${this.tables.minute}_detached_${daySuffix(day)}`;
  }

  private hourlyPartition(day: number): string {
    return `${this.tables.hourly}_${daySuffix(day)}`;
  }

  async exclusively<T>(job: () => Promise<T>): Promise<T | null> {
    const lock = this.db.createQueryRunner();
    const key = `shardcast:history:${this.tables.schema}.${this.tables.minute}`;
    await lock.connect();
    try {
      const [{ locked }] = await lock.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [key]);
      if (!locked) return null;
      try {
        return await job();
      } finally {
        await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
      }
    } finally {
      await lock.release();
    }
  }

  async state(nowMs: number): Promise<HistoryState> {
    const { schema, minute, hourly } = this.tables;
    const rows: Array<{ name: string; parent: string | null }> = await this.db.query(
      `SELECT c.relname AS name, p.relname AS parent
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
       WHERE n.nspname = $1 AND c.relkind = 'r' AND (p.relname IN ($2, $3) OR c.relname LIKE $4)`,
      [schema, minute, hourly, `${minute}\\_detached\\_%`],
    );
    const daysWhere = (keep: (r: { name: string; parent: string | null }) => boolean) =>
      rows
        .filter(keep)
        .map((r) => dayOfSuffix(r.name))
        .filter((d): d is number => d !== null);
    const minuteDays = daysWhere((r) => r.parent === minute);
    const hourlyDays = daysWhere((r) => r.parent === hourly);
    const detachedDays = daysWhere((r) => r.parent === null && r.name.startsWith(`${minute}_detached_`));
    // The newest day holding a bucket: partitions probed from the newest (a probe reads one row).
    const candidates = [
      ...minuteDays.map((d) => ({ d, table: this.minutePartition(d) })),
      ...detachedDays.map((d) => ({ d, table: this.detachedPartition(d) })),
      ...hourlyDays.map((d) => ({ d, table: this.hourlyPartition(d) })),
    ].sort((a, b) => b.d - a.d);
    const holdsRows = async (table: string) => (await this.db.query(`SELECT EXISTS (SELECT 1 FROM ${this.qualified(table)}) AS any`))[0].any as boolean;
    let newestDay: number | null = null;
    for (const c of candidates) {
      if (await holdsRows(c.table)) {
        newestDay = c.d;
        break;
      }
    }
    const emptyMinuteDays: number[] = [];
    for (const d of minuteDays) if (!(await holdsRows(this.minutePartition(d)))) emptyMinuteDays.push(d);
    return { nowMs, minuteDays, emptyMinuteDays, detachedDays, hourlyDays, newestDay };
  }

  async ensureMinuteDays(days: readonly number[]): Promise<void> {
    if (days.length > 0) await this.inTransaction((q) => this.createPartitions(q, this.tables.minute, days, (d) => this.minutePartition(d)));
  }

  async ensureHourlyDays(days: readonly number[]): Promise<void> {
    if (days.length > 0) await this.inTransaction((q) => this.createPartitions(q, this.tables.hourly, days, (d) => this.hourlyPartition(d)));
  }

  async detachMinuteDay(day: number, rollingUp: boolean): Promise<void> {
    const { minute, rollUpMarker } = this.tables;
    await this.inTransaction(async (q) => {
      await q.query(`ALTER TABLE ${this.qualified(minute)} DETACH PARTITION ${this.qualified(this.minutePartition(day))}`);
      await q.query(`ALTER TABLE ${this.qualified(this.minutePartition(day))} RENAME TO "${this.detachedPartition(day)}"`);
      if (rollUpMarker && rollingUp)
        await q.query(
          `INSERT INTO ${this.qualified(rollUpMarker)} (history, rolled_up_before) VALUES ($1, $2)
           ON CONFLICT (history) DO UPDATE SET rolled_up_before = greatest(${this.qualified(rollUpMarker)}.rolled_up_before, excluded.rolled_up_before)`,
          [minute, new Date(day + DAY_MS).toISOString()],
        );
    });
  }

  async rollUpDetachedDay(day: number): Promise<void> {
    const { hourly, keys, time, sums, maxes, weightedMeans } = this.tables;
    const hour = `date_bin('1 hour', ${time}, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
    const target = this.qualified(hourly);
    const columns = [...keys, time, ...sums, ...maxes, ...weightedMeans.map((w) => w.column)];
    const values = [
      ...keys,
      hour,
      ...sums.map((c) => `sum(${c})::bigint`),
      ...maxes.map((c) => `max(${c})`),
      ...weightedMeans.map(({ column, weight }) => `coalesce(sum(${column} * ${weight}) / nullif(sum(${weight}), 0), 0)`),
    ];
    const merged = [
      ...sums.map((c) => `${c} = ${target}.${c} + excluded.${c}`),
      ...maxes.map((c) => `${c} = greatest(${target}.${c}, excluded.${c})`),
      ...weightedMeans.map(
        ({ column: c, weight: w }) =>
          `${c} = coalesce((${target}.${c} * ${target}.${w} + excluded.${c} * excluded.${w}) / nullif(${target}.${w} + excluded.${w}, 0), 0)`,
      ),
    ];
    await this.inTransaction(async (q) => {
      const [{ any }] = await q.query(`SELECT EXISTS (SELECT 1 FROM ${this.qualified(this.detachedPartition(day))}) AS any`);
      if (any) await this.createPartitions(q, hourly, [day], (d) => this.hourlyPartition(d));
      await q.query(
        `INSERT INTO ${target} (${columns.join(', ')})
         SELECT ${values.join(', ')} FROM ${this.qualified(this.detachedPartition(day))}
         GROUP BY ${[...keys, hour].join(', ')}
         ON CONFLICT (${[...keys, time].join(', ')}) DO UPDATE SET ${merged.join(', ')}`,
      );
      await q.query(`DROP TABLE ${this.qualified(this.detachedPartition(day))}`);
    });
  }

  async dropDetachedDay(day: number): Promise<void> {
    await this.db.query(`DROP TABLE IF EXISTS ${this.qualified(this.detachedPartition(day))}`);
  }

  async dropHourlyDay(day: number): Promise<void> {
    await this.db.query(`DROP TABLE IF EXISTS ${this.qualified(this.hourlyPartition(day))}`);
  }

  /** Partitions of `parent` for `days`, unless present; creators take turns (concurrent CREATEs of one name collide in the catalog). */
  private async createPartitions(q: QueryRunner, parent: string, days: readonly number[], nameOf: (day: number) => string): Promise<void> {
    await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`shardcast:history-partitions:${this.tables.schema}.${parent}`]);
    for (const day of days) {
      await q.query(
        `CREATE TABLE IF NOT EXISTS ${this.qualified(nameOf(day))} PARTITION OF ${this.qualified(parent)}
         FOR VALUES FROM ('${new Date(day).toISOString()}') TO ('${new Date(day + DAY_MS).toISOString()}')`,
      );
    }
  }

  private async inTransaction(work: (q: QueryRunner) => Promise<void>): Promise<void> {
    const q = this.db.createQueryRunner();
    await q.connect();
    try {
      await q.startTransaction();
      await work(q);
      await q.commitTransaction();
    } catch (err) {
      if (q.isTransactionActive) await q.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await q.release();
    }
  }
}

/**
 * A partition of `parent` for every UTC day `source` has rows on, named `<parent>_yyyymmdd` as
 * the history job names them: what a migration that partitions an existing table runs before copying its rows.
 */
export async function createDayPartitions(q: Pick<QueryRunner, 'query'>, s: string, parent: string, source: string): Promise<void> {
  const days: Array<{ day: string; day_from: string; day_to: string }> = await q.query(
    `SELECT DISTINCT to_char(d, 'YYYYMMDD') AS day, to_char(d, 'YYYY-MM-DD"T00:00:00Z"') AS day_from, to_char(d + interval '1 day', 'YYYY-MM-DD"T00:00:00Z"') AS day_to
     FROM (SELECT date_bin('1 day', bucket_start, TIMESTAMPTZ '1970-01-01 00:00:00+00') AT TIME ZONE 'UTC' AS d FROM "${s}"."${source}") days`,
  );
  for (const { day, day_from: from, day_to: to } of days) await q.query(`CREATE TABLE "${s}"."${parent}_${day}" PARTITION OF "${s}"."${parent}" FOR VALUES FROM ('${from}') TO ('${to}')`);
}
