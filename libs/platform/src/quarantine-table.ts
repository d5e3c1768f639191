import type { DataSource } from 'typeorm';

/** A dead letter with its identity, as the quarantine keeps it. */
export interface QuarantinedLetter {
  deadLetterId: string;
  consumerGroup: string;
  sourceTopic: string;
  partition: number;
  offset: string;
  recordIndex?: number;
  code: string;
  reason: string;
  key: Buffer | string | null;
  value: Buffer | null;
}

/** Where a dead letter goes when its dead-letter topic refuses it. */
export interface Quarantine {
  /** Stores the letters with why they could not be dead-lettered; returns how many older rows were dropped to stay bounded. */
  add(letters: QuarantinedLetter[], why: string): Promise<number>;
}

export interface QuarantineLimits {
  /** Rows kept; the oldest go first (counted and logged, never silently). */
  maxRows: number;
  /** A value larger than this is kept as its first bytes (its full size is recorded). */
  maxValueBytes: number;
}

export const DEFAULT_QUARANTINE_LIMITS: QuarantineLimits = { maxRows: 100_000, maxValueBytes: 16 * 1024 * 1024 };

/** The service's `quarantined_messages` table (platform migration), bounded by rows and bytes per value. */
export class PostgresQuarantine implements Quarantine {
  constructor(
    private readonly db: DataSource,
    private readonly schema: string,
    private readonly limits: QuarantineLimits = DEFAULT_QUARANTINE_LIMITS,
  ) {}

  async add(letters: QuarantinedLetter[], why: string): Promise<number> {
    if (letters.length === 0) return 0;
    const table = `"${this.schema}".quarantined_messages`;
    return this.db.transaction(async (tx) => {
      for (const l of letters) {
        const value = l.value && l.value.length > this.limits.maxValueBytes ? l.value.subarray(0, this.limits.maxValueBytes) : l.value;
        // The same dead letter twice (a redelivery after a crash) is one row.
        await tx.query(
          `INSERT INTO ${table} (dead_letter_id, consumer_group, source_topic, source_partition, source_offset, record_index, error_code, error_reason, quarantine_reason, message_key, message_value, value_bytes)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (dead_letter_id) DO NOTHING`,
          [l.deadLetterId, l.consumerGroup, l.sourceTopic, l.partition, l.offset, l.recordIndex ?? null, l.code, l.reason, why.slice(0, 1000), l.key === null ? null : Buffer.from(l.key), value, l.value?.length ?? 0],
        );
      }
      const dropped = await tx.query(`DELETE FROM ${table} WHERE id <= (SELECT max(id) FROM ${table}) - $1`, [this.limits.maxRows]);
      return Number((dropped as [unknown, number])[1] ?? 0);
    });
  }
}
