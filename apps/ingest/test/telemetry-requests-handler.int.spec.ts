import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Producer } from 'kafkajs';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { createKafka, createServiceDataSource, DeadLetterPublisher, createLogger, openServiceDatabase, OutboxRelay, PartitionBatch, PostgresHistoryPartitions } from '@shardcast/platform';
import { DemandOutboxTable } from '../src/persistence/demand-outbox';
import { demandHistoryTables } from '../src/persistence/demand-history-tables';
import { stackEnv, generateTelemetry, totalsOf, uniqueName, FixtureRecord } from '@shardcast/test-stack';
import { idleCloseVerdict, parseRegionTable, RegionLocator } from '@shardcast/telemetry';
import { TelemetryRequestsHandler } from '../src/handlers/telemetry-requests.handler';
import { ingestMigrations } from '../src/persistence/migrations';
import { CommitResult, PostgresDemandStore, PreparedCommit } from '../src/persistence/postgres-demand-store';

jest.setTimeout(120_000);

const env = stackEnv();
const TOPIC = 'telemetry.requests.v1';
const locator = new RegionLocator(parseRegionTable(readFileSync(resolve(__dirname, '../../../data/regions/awsData.js'), 'utf8')));
const policy = { allowedLatenessMs: 60_000, maxFutureSkewMs: 24 * 3_600_000 };

/** The real store, with a fault injected on chosen commits (a lost connection, a full disk). */
class FaultyStore extends PostgresDemandStore {
  failCommitAt = new Set<bigint>();
  /** A message whose records the database refuses every time (as a CHECK constraint would): any commit counting it fails. */
  refuseOffset?: bigint;
  commits: bigint[] = [];
  override async commitPrepared(prepared: PreparedCommit): Promise<CommitResult> {
    this.commits.push(prepared.expectedOffset);
    const { expectedOffset, nextOffset, accepted } = prepared.write;
    const covers = this.refuseOffset !== undefined && BigInt(expectedOffset) <= this.refuseOffset && this.refuseOffset < BigInt(nextOffset);
    if (covers && accepted > 0) throw Object.assign(new Error(`injected: offset ${this.refuseOffset} refused`), { code: '23514' });
    // A lost connection (transient): retried in place, then thrown back for the consumer to restart.
    if (this.failCommitAt.has(prepared.expectedOffset)) throw Object.assign(new Error(`injected: commit from offset ${prepared.expectedOffset} failed`), { code: 'ECONNRESET' });
    return super.commitPrepared(prepared);
  }
}

/** Partition 0's messages [from, to) of `records`, as a consumer hands them over. */
function batchOf(records: FixtureRecord[], from: number, to: number): PartitionBatch {
  return {
    topic: TOPIC,
    partition: 0,
    messages: records.slice(from, to).map((r, i) => ({ offset: String(from + i), key: Buffer.from(r.domain), value: Buffer.from(JSON.stringify(r)) })),
    heartbeat: async () => undefined,
    isStale: () => false,
  };
}

describe('TelemetryRequestsHandler, pipelined (real PostgreSQL and Kafka)', () => {
  const schema = uniqueName('ingest_handler_t');
  const logger = createLogger('ingest-handler-test', 'silent');
  let db: DataSource;
  let producer: Producer;
  let relay: OutboxRelay;

  beforeAll(async () => {
    db = await openServiceDatabase(createServiceDataSource({ url: env.DATABASE_URL, schema, migrations: ingestMigrations, poolSize: 4 }), schema);
    producer = createKafka(env.KAFKA_BROKERS.split(','), 'ingest-handler-test').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // Never started (no poll); the handler's publishWritten sends to a topic nobody reads.
    relay = new OutboxRelay(new DemandOutboxTable(db, schema, 'ingest-test'), producer, uniqueName('unused'), logger);
  });

  afterAll(async () => {
    await relay.stop();
    await producer.disconnect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.destroy();
  });

  beforeEach(async () => {
    await db.query(`TRUNCATE "${schema}".partition_progress, "${schema}".partition_open_deltas, "${schema}".demand_buckets, "${schema}".demand_outbox, "${schema}".offset_gaps`);
  });

  const handlerOn = (store: PostgresDemandStore) => new TelemetryRequestsHandler(store, new DeadLetterPublisher(producer, 'handler-test'), relay, locator, policy, logger);
  /** A handler whose log is kept: `held()` lists what each 'kept open' line named. */
  const loggedHandlerOn = (store: PostgresDemandStore) => {
    const lines: Array<{ msg: string; partitions?: unknown }> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const handler = new TelemetryRequestsHandler(store, new DeadLetterPublisher(producer, 'handler-test'), relay, locator, policy, log);
    return { handler, held: () => lines.filter((l) => l.msg === 'idle partitions kept open: not caught up with the broker').map((l) => l.partitions) };
  };
  /** The idle close's verdict with the broker's end at `end` (just read: it has not stood still). */
  const endAt = (end: bigint, idle: { idleMs: number; backlogIdleMs: number }) => (p: { nextOffset: bigint; idleForMs: number }) =>
    idleCloseVerdict({ ...p, endOffset: end, endUnchangedForMs: 0 }, idle);

  async function storedTotals() {
    const [sums] = await db.query(`SELECT coalesce(sum(requests),0)::bigint AS requests, coalesce(sum(errors),0)::bigint AS errors, coalesce(sum(bytes),0)::bigint AS bytes FROM "${schema}".demand_history`);
    const [progress] = await db.query(`SELECT next_offset, accepted_records FROM "${schema}".partition_progress WHERE topic = $1 AND partition = 0`, [TOPIC]);
    return { requests: Number(sums.requests), errors: Number(sums.errors), bytes: Number(sums.bytes), nextOffset: Number(progress?.next_offset ?? -1), accepted: Number(progress?.accepted_records ?? 0) };
  }

  it('stores batches handed over before their predecessors are written, each once and in order', async () => {
    const records = generateTelemetry(30_000, { seed: 11 });
    const store = new FaultyStore(db, schema, 'ingest-test', new PostgresHistoryPartitions(db, demandHistoryTables(schema)));
    const handler = handlerOn(store);
    // No await between them: every batch is prepared while the one before is still being written.
    await Promise.all([0, 5_000, 10_000, 15_000, 20_000, 25_000].map((from) => handler.handleBatch(batchOf(records, from, from + 5_000))));
    const t = totalsOf(records);
    expect(await storedTotals()).toEqual({ requests: t.requests, errors: t.errors, bytes: t.bytes, nextOffset: 30_000, accepted: 30_000 });
    expect(store.commits).toEqual([-1n, 5_000n, 10_000n, 15_000n, 20_000n, 25_000n]);
  });

  it('keeps a record of a minute the partition closed late after a restart with more allowed lateness (a stored share of it would be hidden)', async () => {
    const [first] = generateTelemetry(1, { seed: 19 });
    const T = Date.UTC(2014, 3, 10, 12, 0, 0);
    const records = [{ ...first, timestamp: T + 1_000 }, { ...first, timestamp: T + 300_000 }, { ...first, timestamp: T + 10_000 }];
    const newStore = () => new FaultyStore(db, schema, 'ingest-test', new PostgresHistoryPartitions(db, demandHistoryTables(schema)));
    // Lateness 60 s: the second record moves the watermark past T's minute, which closes.
    await handlerOn(newStore()).handleBatch(batchOf(records, 0, 2));
    // Restarted with 10 min of lateness: the watermark alone would reopen T's minute.
    const patient = new TelemetryRequestsHandler(newStore(), new DeadLetterPublisher(producer, 'handler-test'), relay, locator, { ...policy, allowedLatenessMs: 600_000 }, logger);
    await patient.handleBatch(batchOf(records, 2, 3));
    const [progress] = await db.query(`SELECT accepted_records::int AS accepted, late_records::int AS late FROM "${schema}".partition_progress WHERE topic = $1 AND partition = 0`, [TOPIC]);
    expect(progress).toEqual({ accepted: 2, late: 1 });
    const t = totalsOf(records.slice(0, 2));
    expect(await storedTotals()).toEqual({ requests: t.requests, errors: t.errors, bytes: t.bytes, nextOffset: 3, accepted: 2 });
  });

  it('fails a batch whose predecessor failed without writing it, and starts afresh afterwards', async () => {
    const records = generateTelemetry(9_000, { seed: 12 });
    const store = new FaultyStore(db, schema, 'ingest-test', new PostgresHistoryPartitions(db, demandHistoryTables(schema)));
    const handler = handlerOn(store);
    await handler.handleBatch(batchOf(records, 0, 3_000));
    store.failCommitAt.add(3_000n);
    const second = handler.handleBatch(batchOf(records, 3_000, 6_000));
    const third = handler.handleBatch(batchOf(records, 6_000, 9_000));
    await expect(second).rejects.toThrow('injected');
    await expect(third).rejects.toThrow('injected');
    // The third was prepared, but never written on top of the missing second (tried 5 times).
    expect(store.commits).toEqual([-1n, 3_000n, 3_000n, 3_000n, 3_000n, 3_000n]);
    expect((await storedTotals()).nextOffset).toBe(3_000);
    // The consumer restarts from the stored offset and hands both again.
    store.failCommitAt.clear();
    await Promise.all([handler.handleBatch(batchOf(records, 3_000, 6_000)), handler.handleBatch(batchOf(records, 6_000, 9_000))]);
    const t = totalsOf(records);
    expect(await storedTotals()).toEqual({ requests: t.requests, errors: t.errors, bytes: t.bytes, nextOffset: 9_000, accepted: 9_000 });
  });

  it('isolates a message that fails every time, rejects it whole and stores everything around it', async () => {
    const records = generateTelemetry(9_000, { seed: 15 });
    const store = new FaultyStore(db, schema, 'ingest-test', new PostgresHistoryPartitions(db, demandHistoryTables(schema)));
    store.refuseOffset = 4_321n;
    const handler = handlerOn(store);
    // Handed over at once (pipelined): the second fails, the third waits for it.
    await Promise.all([handler.handleBatch(batchOf(records, 0, 3_000)), handler.handleBatch(batchOf(records, 3_000, 6_000)), handler.handleBatch(batchOf(records, 6_000, 9_000))]);
    const counted = records.filter((_, i) => i !== 4_321);
    const t = totalsOf(counted);
    expect(await storedTotals()).toEqual({ requests: t.requests, errors: t.errors, bytes: t.bytes, nextOffset: 9_000, accepted: 8_999 });
    const [progress] = await db.query(`SELECT rejected_records::int AS rejected FROM "${schema}".partition_progress WHERE topic = $1 AND partition = 0`, [TOPIC]);
    expect(progress.rejected).toBe(1);
    // Bounded: 5 attempts at the batch, about two per halving (12 of them), 5 at the message, its rejection.
    expect(store.commits.length).toBeLessThan(50);
  });

  it('recomputes a batch prepared on a ledger that did not become the stored one', async () => {
    // The last third an hour later: nothing of it is late after the idle close below.
    const records = generateTelemetry(12_000, { seed: 13 }).map((r, i) => (i >= 8_000 ? { ...r, timestamp: r.timestamp + 3_600_000 } : r));
    const first = new FaultyStore(db, schema, 'ingest-a', new PostgresHistoryPartitions(db, demandHistoryTables(schema)));
    const a = handlerOn(first);
    const b = handlerOn(new PostgresDemandStore(db, schema, 'ingest-b', new PostgresHistoryPartitions(db, demandHistoryTables(schema))));
    await a.handleBatch(batchOf(records, 0, 4_000));
    // Another member (after a rebalance a did not see) stores the next batch, then closes the
    // partition's open buckets as idle and publishes them.
    await b.handleBatch(batchOf(records, 4_000, 8_000));
    expect(await b.closeIdlePartitions(0)).toBeGreaterThan(0);
    // a, with its stale ledger, gets that batch and the one after it at once: the first write is
    // refused and redone on the reloaded ledger (nothing left to store); the second, prepared on
    // a's guess (buckets still open), is recomputed on the reloaded one (they were closed), or
    // those buckets would be published twice.
    await Promise.all([a.handleBatch(batchOf(records, 4_000, 8_000)), a.handleBatch(batchOf(records, 8_000, 12_000))]);
    expect(first.commits).toEqual([-1n, 4_000n, 8_000n]);
    const t = totalsOf(records);
    expect(await storedTotals()).toEqual({ requests: t.requests, errors: t.errors, bytes: t.bytes, nextOffset: 12_000, accepted: 12_000 });
  });

  it('keeps a quiet partition open while the broker holds records for it, so they are not made late', async () => {
    const records = generateTelemetry(2_000, { seed: 16 });
    const newStore = () => new PostgresDemandStore(db, schema, 'ingest-test', new PostgresHistoryPartitions(db, demandHistoryTables(schema)));
    const idle = { idleMs: 0, backlogIdleMs: 600_000 };
    const late = async () => Number((await db.query(`SELECT late_records FROM "${schema}".partition_progress WHERE topic = $1 AND partition = 0`, [TOPIC]))[0].late_records);
    // As before the end offset was checked: quiet is enough, and the rest of the stream (delayed,
    // say by a starved process) arrives after its buckets were closed.
    const before = handlerOn(newStore());
    await before.handleBatch(batchOf(records, 0, 1_000));
    expect(await before.closeIdlePartitions(0)).toBeGreaterThan(0);
    await before.handleBatch(batchOf(records, 1_000, 2_000));
    expect(await late()).toBeGreaterThan(0);

    await db.query(`TRUNCATE "${schema}".partition_progress, "${schema}".partition_open_deltas, "${schema}".demand_buckets, "${schema}".demand_outbox`);
    const { handler, held } = loggedHandlerOn(newStore());
    await handler.handleBatch(batchOf(records, 0, 1_000));
    // The broker's end is at 2,000: the partition is quiet, not done (said once, however many ticks).
    expect(await handler.closeIdlePartitions(0, Date.now(), endAt(2_000n, idle))).toBe(0);
    expect(await handler.closeIdlePartitions(0, Date.now(), endAt(2_000n, idle))).toBe(0);
    expect(held()).toEqual([[{ partition: `${TOPIC}:0`, nextOffset: '1000', reason: 'behind-end' }]]);
    await handler.handleBatch(batchOf(records, 1_000, 2_000));
    expect(await late()).toBe(0);
    // Caught up: now it closes, and every record is counted.
    expect(await handler.closeIdlePartitions(0, Date.now(), endAt(2_000n, idle))).toBeGreaterThan(0);
    const t = totalsOf(records);
    expect(await storedTotals()).toEqual({ requests: t.requests, errors: t.errors, bytes: t.bytes, nextOffset: 2_000, accepted: 2_000 });
    expect(Number((await db.query(`SELECT count(*) FROM "${schema}".partition_buckets`))[0].count)).toBe(0);
  });

  it('drops, rather than holds, a quiet partition another member has taken over and moved on', async () => {
    const records = generateTelemetry(2_000, { seed: 17 });
    const newStore = () => new PostgresDemandStore(db, schema, 'ingest-test', new PostgresHistoryPartitions(db, demandHistoryTables(schema)));
    const idle = { idleMs: 0, backlogIdleMs: 600_000 };
    const a = loggedHandlerOn(newStore());
    await a.handler.handleBatch(batchOf(records, 0, 1_000));
    // A rebalance a never heard of: b owns the partition now, stores the rest and is caught up.
    const b = handlerOn(newStore());
    await b.handleBatch(batchOf(records, 1_000, 2_000));
    // a's ledger sits at 1,000, behind the end, for good: it is stale, not waiting for records.
    expect(await a.handler.closeIdlePartitions(0, Date.now(), endAt(2_000n, idle))).toBe(0);
    expect(a.held()).toEqual([]);
    // Gone, not held: nothing of a's is tried again, even once the end would let it close.
    expect(await a.handler.closeIdlePartitions(0, Date.now(), endAt(1_000n, idle))).toBe(0);
    expect(await b.closeIdlePartitions(0, Date.now(), endAt(2_000n, idle))).toBeGreaterThan(0);
    const t = totalsOf(records);
    expect(await storedTotals()).toEqual({ requests: t.requests, errors: t.errors, bytes: t.bytes, nextOffset: 2_000, accepted: 2_000 });
  });

  it('records the offsets a batch skipped (deleted before they were read) with that batch, once', async () => {
    const records = generateTelemetry(6_000, { seed: 14 });
    const gaps = async () => db.query(`SELECT partition, from_offset::int AS "from", to_offset::int AS "to", count::int AS count FROM "${schema}".offset_gaps`);
    // Nothing stored yet: the first batch starts where Kafka says, no gap is known.
    await handlerOn(new PostgresDemandStore(db, schema, 'ingest-test', new PostgresHistoryPartitions(db, demandHistoryTables(schema)))).handleBatch(batchOf(records, 500, 2_000));
    expect(await gaps()).toEqual([]);
    const store = new FaultyStore(db, schema, 'ingest-test', new PostgresHistoryPartitions(db, demandHistoryTables(schema)));
    // Offsets 2,000..2,999 are gone (retention): the next batch the consumer gets starts at 3,000.
    await handlerOn(store).handleBatch(batchOf(records, 3_000, 4_500));
    expect(await gaps()).toEqual([{ partition: 0, from: 2_000, to: 2_999, count: 1_000 }]);
    // A restarted member re-reads from before its stored offset: no second gap.
    await handlerOn(store).handleBatch(batchOf(records, 4_000, 6_000));
    expect(await gaps()).toEqual([{ partition: 0, from: 2_000, to: 2_999, count: 1_000 }]);
    expect(store.commits).toEqual([2_000n, 4_500n]);
    const t = totalsOf([...records.slice(500, 2_000), ...records.slice(3_000)]);
    expect(await storedTotals()).toEqual({ requests: t.requests, errors: t.errors, bytes: t.bytes, nextOffset: 6_000, accepted: 4_500 });
  });
});
