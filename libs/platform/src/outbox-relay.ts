import { DataSource } from 'typeorm';
import type { EventBatchProducer } from './librdkafka-producer';
import type { Logger } from './logger';

const MAX_PAGE_BYTES = 768 * 1024;

/**
 * Publishes events written to the outbox in the same transaction as the data they describe.
 * At-least-once; consumers deduplicate by eventId. A row is deleted once its event is sent. Several instances may run one; an advisory
 * lock lets one publish at a time.
 */
export class OutboxRelay {
  private draining: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly db: DataSource,
    private readonly schema: string,
    private readonly producer: EventBatchProducer,
    private readonly topicPrefix: string,
    private readonly logger: Logger,
  ) {}

  start(pollMs: number): void {
    this.timer = setInterval(() => this.kick(), pollMs);
    this.timer.unref();
  }

  /** Asks for a drain soon; calls while one runs coalesce into one more pass. */
  kick(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drainAll()
      .catch((err) => this.logger.warn({ err }, 'outbox relay failed; will retry'))
      .finally(() => {
        this.draining = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Stops polling and waits for the drain in progress; nothing starts after it (the producer may close next). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.draining;
  }

  private async drainAll(): Promise<void> {
    while ((await this.drainOnce()) > 0);
  }

  /** Publishes one page of unpublished events; returns how many. */
  async drainOnce(limit = 1000): Promise<number> {
    const q = this.db.createQueryRunner();
    await q.connect();
    try {
      await q.startTransaction();
      // One relay per schema at a time, so a domain's events leave in the order they were written.
      const [{ locked }] = await q.query(`SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked`, [`${this.schema}.outbox`]);
      if (!locked) {
        await q.commitTransaction();
        return 0;
      }
      // payload as text: PostgreSQL renders it once; parsing it here only to stringify it again
      // cost a JSON round trip per event.
      const rows: Array<{ id: string; topic: string; key: string; payload: string }> = await q.query(
        `SELECT id, topic, key, payload::text AS payload FROM "${this.schema}".outbox WHERE published_at IS NULL ORDER BY id LIMIT $1`,
        [limit],
      );
      if (rows.length === 0) {
        await q.commitTransaction();
        return 0;
      }
      // One produce request per page: keep it under the broker's 1 MB batch limit (forecast events
      // are large); at least one event, the rest waits for the next page.
      let bytes = 0;
      const page = rows.filter((row, i) => (bytes += Buffer.byteLength(row.payload)) <= MAX_PAGE_BYTES || i === 0);
      const byTopic = new Map<string, Array<{ key: string; value: string }>>();
      for (const row of page) {
        const topic = this.topicPrefix + row.topic;
        const list = byTopic.get(topic) ?? [];
        list.push({ key: row.key, value: row.payload });
        byTopic.set(topic, list);
      }
      await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      // Deleted once sent: Kafka holds the events. Marking them instead writes every row and its
      // index entries again, a fifth of PostgreSQL's work at ingest's event rate.
      await q.query(`DELETE FROM "${this.schema}".outbox WHERE id = ANY($1::bigint[])`, [page.map((r) => r.id)]);
      await q.commitTransaction();
      return page.length;
    } catch (err) {
      if (q.isTransactionActive) await q.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await q.release();
    }
  }
}

/** DDL of a service's outbox table, for its own migration (one outbox per service schema). */
export function outboxTableDdl(schema: string): string[] {
  return [
    `CREATE TABLE "${schema}".outbox (
       id bigserial PRIMARY KEY,
       event_id text NOT NULL UNIQUE,
       topic text NOT NULL,
       key text NOT NULL,
       payload jsonb NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       published_at timestamptz
     )`,
    `CREATE INDEX outbox_unpublished ON "${schema}".outbox (id) WHERE published_at IS NULL`,
  ];
}
