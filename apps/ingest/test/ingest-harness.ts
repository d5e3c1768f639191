import { resolve } from 'node:path';
import { Client } from 'pg';
import { contractTopicSpecs } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { kcat, readDeadLetters, ReadDeadLetter, ServiceProcess, StackEnv, stackEnv, uniqueName } from '@shardcast/test-stack';

export const INGEST_ENTRY = resolve(__dirname, '../dist/src/main.js');

/** One test's own slice of the real stack: topic prefix, consumer group, database schema. */
export class IngestHarness {
  readonly prefix = `${uniqueName('t')}.`;
  readonly schema = uniqueName('ingest_t');
  readonly group = uniqueName('ingest-group');
  readonly topic = `${this.prefix}telemetry.requests.v1`;
  readonly processes: ServiceProcess[] = [];
  db: Client;

  /** `env`: the stack to run against (the restart tier passes its own broker and cluster). */
  constructor(readonly env: StackEnv = stackEnv()) {
    this.db = new Client({ connectionString: env.DATABASE_URL });
  }

  async setUp(partitions = 6): Promise<void> {
    await this.db.connect();
    await ensureTopics(createKafka(this.env.KAFKA_BROKERS.split(','), 'test'), contractTopicSpecs(), partitions, this.prefix);
  }

  startIngest(extraEnv: Record<string, string> = {}): ServiceProcess {
    const service = new ServiceProcess(INGEST_ENTRY, {
      ...this.env,
      HTTP_PORT: '0',
      KAFKA_TOPIC_PREFIX: this.prefix,
      INGEST_DB_SCHEMA: this.schema,
      INGEST_GROUP_ID: this.group,
      KAFKA_GROUP_PREFIX: this.group,
      LOG_LEVEL: 'info',
      ...extraEnv,
    }).start();
    this.processes.push(service);
    return service;
  }

  /** Produces `key\tvalue` lines with kcat (librdkafka, idempotent: in order), as an outside producer would. */
  async produceLines(lines: string[], compression: 'none' | 'gzip' | 'lz4' | 'snappy' | 'zstd' = 'lz4', topic = this.topic, extraArgs: string[] = []): Promise<void> {
    await kcat(['-b', this.env.KAFKA_BROKERS, '-t', topic, '-P', '-K', '\t', '-z', compression, '-X', 'linger.ms=20', ...extraArgs], lines.join('\n') + '\n');
  }

  /**
   * Stored totals and progress counters, read in ONE statement (one snapshot): read separately, a
   * commit landing between the two reads shows the progress of records whose aggregates were not
   * yet counted, and a test waiting on the progress would compare half-read totals.
   */
  async totals(): Promise<{ requests: number; errors: number; bytes: number; accepted: number; rejected: number; late: number }> {
    const [row] = (
      await this.db
        .query(
          `SELECT h.requests, h.errors, h.bytes, p.accepted, p.rejected, p.late
           FROM (SELECT coalesce(sum(requests),0)::bigint AS requests, coalesce(sum(errors),0)::bigint AS errors, coalesce(sum(bytes),0)::bigint AS bytes FROM "${this.schema}".demand_history) h,
                (SELECT coalesce(sum(accepted_records),0)::bigint AS accepted, coalesce(sum(rejected_records),0)::bigint AS rejected, coalesce(sum(late_records),0)::bigint AS late FROM "${this.schema}".partition_progress) p`,
        )
        .catch((err: { code?: string }) => {
          // Before ingest has migrated its schema there is nothing to count; any other error fails the test.
          if (err.code === '42P01' || err.code === '3F000') return { rows: [{}] };
          throw err;
        })
    ).rows as Array<Record<string, string>>;
    const n = (v: string | undefined) => Number(v ?? 0);
    return { requests: n(row.requests), errors: n(row.errors), bytes: n(row.bytes), accepted: n(row.accepted), rejected: n(row.rejected), late: n(row.late) };
  }

  async countBy(column: 'domain' | 'region'): Promise<Map<string, number>> {
    const { rows } = await this.db.query(`SELECT ${column} AS k, sum(requests)::bigint AS n FROM "${this.schema}".demand_history GROUP BY 1`);
    return new Map(rows.map((r: { k: string; n: string }) => [r.k, Number(r.n)]));
  }

  /** Reads a whole topic with kcat: one line per message, `format` as kcat's -f. */
  async readTopic(topic: string, format: string): Promise<string[]> {
    const out = await kcat(['-b', this.env.KAFKA_BROKERS, '-t', topic, '-C', '-e', '-q', '-o', 'beginning', '-f', format]);
    return out.split('\n').filter(Boolean);
  }

  /** The DLQ's messages with their headers; deduplicate on `id` (at-least-once). */
  deadLetters(): Promise<ReadDeadLetter[]> {
    return readDeadLetters(this.env.KAFKA_BROKERS, `${this.topic}.dlq`);
  }

  /** The gaps ingest recorded (offsets it never read), in partition and offset order. */
  async offsetGaps(): Promise<Array<{ partition: number; from: number; to: number; count: number }>> {
    const { rows } = await this.db.query(
      `SELECT partition, from_offset::int AS "from", to_offset::int AS "to", count::int AS count FROM "${this.schema}".offset_gaps ORDER BY partition, from_offset`,
    );
    return rows;
  }

  /** Kafka's DeleteRecords: the partition's records before `offset` are gone, as retention would remove them. */
  async deleteRecordsBefore(partition: number, offset: number): Promise<void> {
    const admin = createKafka(this.env.KAFKA_BROKERS.split(','), 'test').admin();
    await admin.connect();
    try {
      // kafkajs finds the partition's leader in metadata it does not load by itself here.
      await admin.fetchTopicMetadata({ topics: [this.topic] });
      await admin.deleteTopicRecords({ topic: this.topic, partitions: [{ partition, offset: String(offset) }] });
    } finally {
      await admin.disconnect();
    }
  }

  /** Ends the harness's connection even when a process had died: left open, a later test's PostgreSQL restart would fail that test. */
  async tearDown(): Promise<void> {
    try {
      await Promise.all(this.processes.map((p) => p.kill('SIGTERM')));
    } finally {
      if (!process.env.KEEP_TEST_SCHEMA) await this.db.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`).catch(() => undefined);
      await this.db.end().catch(() => undefined);
    }
  }
}
