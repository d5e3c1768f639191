import { DataSource, QueryRunner } from 'typeorm';
import type { Logger } from './logger';

/**
 * What the outbox relay needs of a producer: kafkajs' Producer has it, and so does ingest-native's
 * LibrdkafkaProducer (a null value is a tombstone; only outboxes that store one send it, and
 * ingest's does not).
 */
export interface EventBatchProducer {
  sendBatch(batch: { acks?: number; topicMessages: Array<{ topic: string; messages: Array<{ key: string; value: string | null }> }> }): Promise<unknown>;
}

const MAX_PAGE_BYTES = 768 * 1024;

/** An event its writer has just committed to the outbox, handed to OutboxRelay.publishWritten. */
export interface OutboxMessage {
  eventId: string;
  /** Unprefixed, as in the outbox's topic column. */
  topic: string;
  key: string;
  payload: string;
}

/** An event as the relay sends it. */
export interface OutboxEvent {
  /** Unprefixed, as stored. */
  topic: string;
  key: string;
  /** null: a tombstone for `key` (a row stored without payload, on a compacted topic). */
  payload: string | null;
}

/**
 * Where a service's outbox rows live. The relay sends; the table knows its rows: how a poll finds
 * what is left and what its events are, and how rows are deleted once their events are sent.
 * EventOutboxTable (one row per event, payload stored) suits most services; one whose events can
 * be rebuilt from data it stores anyway can keep a smaller row (ingest's demand outbox).
 */
export interface OutboxTable {
  /** Names the table in logs and in the poll's advisory lock. */
  readonly name: string;
  /**
   * Publishes, with `send`, the events of some rows older than `graceMs`, oldest first, and
   * deletes those rows in the same transaction once sent; at most about `limit` events. Returns
   * how many events were sent, or rows cleared when none of theirs was; 0 only when no row was
   * due. One poll per table at a time (an advisory lock). Rows named in `skip` are left alone:
   * their writer is still sending them (a catch-up commit can take it longer than the grace).
   */
  drainOnce(send: (events: OutboxEvent[]) => Promise<void>, limit: number, graceMs: number, skip?: readonly string[]): Promise<number>;
  /** Deletes rows whose events have all been sent (handed over by their writer). */
  deleteRows(rows: readonly string[]): Promise<void>;
}

export interface OutboxRelayOptions {
  /**
   * Rows younger than this are left to the writer that hands them to publishWritten; the poll
   * publishes only older ones (a writer that crashed or failed to send). 0 (the default) for
   * services whose writers do not publish themselves.
   */
  writerGraceMs?: number;
}

/** Events a writer handed over, and the outbox rows that hold them (deleted once all are sent). */
interface WrittenUnit {
  messages: readonly OutboxMessage[];
  rows: readonly string[];
}

/**
 * Publishes events written to the outbox in the same transaction as the data they describe.
 * At-least-once; consumers deduplicate by eventId. A row is deleted once its events are sent.
 *
 * Two ways out: a writer that knows what it has just committed hands it over (publishWritten):
 * sent from memory and its rows deleted, in the order handed over, without reading the rows back
 * (which cost PostgreSQL a read of every payload). The poll (kick, start) publishes what is left,
 * oldest first: rows of writers that do not hand over, and, after the writer grace, rows whose
 * writer died or could not send. Several instances may poll; the table lets one publish at a
 * time. Order holds per writer, not across writers or between the two ways, so events that must
 * be ordered carry their own order (ingest's carry the bucket's revision).
 */
export class OutboxRelay {
  private draining: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  /** Handed over by publishWritten and not yet sent. */
  private written: WrittenUnit[] = [];
  /** Rows handed over whose sends are not settled: this instance's poll leaves them to the writer. */
  private readonly handedOver = new Set<string>();
  private sendingWritten: Promise<void> | null = null;

  constructor(
    private readonly table: OutboxTable,
    private readonly producer: EventBatchProducer,
    private readonly topicPrefix: string,
    private readonly logger: Logger,
    private readonly options: OutboxRelayOptions = {},
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
      .catch((err) => this.logger.warn({ err, outbox: this.table.name }, 'outbox relay failed; will retry'))
      .finally(() => {
        this.draining = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  /**
   * Sends events the caller has just committed to the outbox, then deletes `rows`, the outbox
   * rows that hold them, as its table names them (EventOutboxTable: the event ids). Returns at
   * once; the sends keep the order of the calls. A failed send leaves the rows to the poll.
   */
  publishWritten(messages: readonly OutboxMessage[], rows: readonly string[]): void {
    if (this.stopped || (messages.length === 0 && rows.length === 0)) return;
    this.written.push({ messages, rows });
    for (const row of rows) this.handedOver.add(row);
    this.startSending();
  }

  private startSending(): void {
    if (this.sendingWritten || this.stopped || this.written.length === 0) return;
    // Again once settled: messages handed over after the loop's last look wait for no one.
    this.sendingWritten = this.sendWritten().finally(() => {
      this.sendingWritten = null;
      this.startSending();
    });
  }

  /**
   * Resolves once everything handed over (publishWritten) has been sent, or left to the poll after
   * a failed send. A writer about to commit a large batch waits here first, so the messages of one
   * such batch at a time are in memory (ingest's idle close of 10^5 buckets per partition).
   */
  async writtenSettled(): Promise<void> {
    while (this.sendingWritten) await this.sendingWritten;
  }

  /** Stops polling and waits for the sends in progress; nothing starts after them (the producer may close next). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.all([this.draining, this.sendingWritten]);
  }

  /** Sends what was handed over, in pages, until nothing is left; the rows of what was sent are deleted. */
  private async sendWritten(): Promise<void> {
    while (this.written.length > 0 && !this.stopped) {
      const units = this.written;
      this.written = [];
      let sent = 0;
      try {
        for (const page of pages(units.flatMap((u) => u.messages), (m) => m.payload)) {
          await this.send(page);
          sent += page.length;
        }
      } catch (err) {
        this.logger.warn({ err, sent, outbox: this.table.name }, 'sending just-written events failed; the outbox poll sends them later');
      }
      // A unit's rows go once all its messages are sent (a unit may span pages, a page units).
      const done: string[] = [];
      let end = 0;
      for (const unit of units) {
        end += unit.messages.length;
        if (end > sent) break;
        for (const row of unit.rows) done.push(row); // not spread: a catch-up commit holds ~10^5
      }
      try {
        if (done.length > 0) await this.table.deleteRows(done);
      } catch (err) {
        this.logger.warn({ err, rows: done.length, outbox: this.table.name }, 'deleting sent outbox rows failed; the poll sends them again (consumers deduplicate by eventId)');
      } finally {
        // Sent and deleted, or left to the poll: either way no longer this writer's.
        for (const unit of units) for (const row of unit.rows) this.handedOver.delete(row);
      }
    }
  }

  /** One produce request per page: under the broker's 1 MB batch limit (forecast events are large). */
  private async send(page: readonly OutboxEvent[]): Promise<void> {
    const byTopic = new Map<string, Array<{ key: string; value: string | null }>>();
    for (const row of page) {
      const topic = this.topicPrefix + row.topic;
      const list = byTopic.get(topic) ?? [];
      list.push({ key: row.key, value: row.payload });
      byTopic.set(topic, list);
    }
    await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  }

  private async drainAll(): Promise<void> {
    while ((await this.drainOnce()) > 0);
  }

  /** Publishes one poll's worth of unpublished events (past the writer grace); returns how many. */
  drainOnce(limit = 1000): Promise<number> {
    return this.table.drainOnce(async (events) => {
      for (const page of pages(events, (e) => e.payload)) await this.send(page);
    }, limit, this.options.writerGraceMs ?? 0, [...this.handedOver]);
  }
}

/**
 * A service's outbox as one row per event with its payload (outboxTableDdl). Rows are identified
 * by event id.
 */
export class EventOutboxTable implements OutboxTable {
  readonly name: string;

  constructor(
    private readonly db: DataSource,
    private readonly schema: string,
  ) {
    this.name = `${schema}.outbox`;
  }

  async deleteRows(eventIds: readonly string[]): Promise<void> {
    // Event ids never hold a newline (they are hex digests); one text param is cheaper than text[].
    await this.db.query(`DELETE FROM "${this.schema}".outbox WHERE event_id = ANY(string_to_array($1, E'\n'))`, [eventIds.join('\n')]);
  }

  async drainOnce(send: (events: OutboxEvent[]) => Promise<void>, limit: number, graceMs: number, skip: readonly string[] = []): Promise<number> {
    return inPollTransaction(this.db, this.name, async (q) => {
      // payload as text: PostgreSQL renders it once; parsing it here only to stringify it again
      // cost a JSON round trip per event.
      const rows: Array<{ id: string; topic: string; key: string; payload: string | null }> = await q.query(
        `SELECT id, topic, key, payload::text AS payload FROM "${this.schema}".outbox
         WHERE published_at IS NULL AND created_at <= now() - make_interval(secs => $2) AND NOT (event_id = ANY($3::text[])) ORDER BY id LIMIT $1`,
        [limit, graceMs / 1000, skip],
      );
      if (rows.length === 0) return 0;
      // The rest waits for the next poll.
      const page = pages(rows, (row) => row.payload)[0];
      await send(page);
      // Deleted once sent: Kafka holds the events. Marking them instead writes every row and its
      // index entries again, a fifth of PostgreSQL's work at ingest's event rate.
      await q.query(`DELETE FROM "${this.schema}".outbox WHERE id = ANY($1::bigint[])`, [page.map((r) => r.id)]);
      return page.length;
    });
  }
}

/**
 * Runs one outbox poll in a transaction, if no other poll of the same table holds its advisory
 * lock (0 then): across instances, and between a writer's own sends and the poll, a key's events
 * may leave out of order, so consumers order by what the events carry.
 */
export async function inPollTransaction(db: DataSource, lockName: string, poll: (q: QueryRunner) => Promise<number>): Promise<number> {
  const q = db.createQueryRunner();
  await q.connect();
  try {
    await q.startTransaction();
    const [{ locked }] = await q.query(`SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked`, [lockName]);
    const sent = locked ? await poll(q) : 0;
    await q.commitTransaction();
    return sent;
  } catch (err) {
    if (q.isTransactionActive) await q.rollbackTransaction().catch(() => undefined);
    throw err;
  } finally {
    await q.release();
  }
}

/** Splits messages into pages of at most MAX_PAGE_BYTES of payload (at least one message each), in order. */
function pages<T>(items: readonly T[], payloadOf: (item: T) => string | null): T[][] {
  const out: T[][] = [];
  let page: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(payloadOf(item) ?? '');
    if (page.length > 0 && bytes + size > MAX_PAGE_BYTES) {
      out.push(page);
      page = [];
      bytes = 0;
    }
    page.push(item);
    bytes += size;
  }
  if (page.length > 0) out.push(page);
  return out;
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
