import { metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { ErrorCodes } from '@shardcast/contracts';
import { classifyFailure, ConsumerFailures, DeadLetter, DeadLetterPublisher, Logger, OutboxRelay, PartitionBatch, PartitionBatchHandler, ReadinessRegistry } from '@shardcast/platform';
import {
  AggregationPolicy,
  aggregatePartitionMessages,
  PackedScan,
  PackedTelemetryScanner,
  applyPartitionDelta,
  IdleCloseVerdict,
  isLedgerCurrent,
  progressPastClosedMinutes,
  OpenBucketLimit,
  BUCKET_MS,
  PartitionDelta,
  MessageRejection,
  PartitionLedger,
  RegionLocator,
} from '@shardcast/telemetry';
import { OffsetGap, PostgresDemandStore, PreparedCommit } from '../persistence/postgres-demand-store';

/**
 * One dead letter per rejected record: a whole message that failed keeps its original bytes; a
 * rejected record of a batch goes alone, as its JSON, so a batch with a few bad records never
 * costs a copy of the batch per record (nor one of over a megabyte). The DLQ's headers say where
 * it came from (partition, offset, record index).
 */
export function deadLettersFor(batch: PartitionBatch, rejections: MessageRejection[]): DeadLetter[] {
  if (rejections.length === 0) return [];
  const keyByOffset = new Map(batch.messages.map((m) => [String(m.offset), m.key ?? null]));
  // A batch message is parsed once, whatever the number of its rejected records.
  const recordsByOffset = new Map<bigint, unknown[]>();
  const recordOf = (r: MessageRejection): Buffer | null => {
    let records = recordsByOffset.get(r.offset);
    if (!records) {
      records = batchRecords(r.value);
      recordsByOffset.set(r.offset, records);
    }
    return recordBytes(records[r.index as number]) ?? r.value;
  };
  return rejections.map((r) => ({
    sourceTopic: batch.topic,
    partition: batch.partition,
    offset: r.offset.toString(),
    key: keyByOffset.get(r.offset.toString()) ?? null,
    value: r.index === null ? r.value : recordOf(r),
    code: r.code,
    reason: r.reason,
    recordIndex: r.index ?? undefined,
  }));
}

/** The record as JSON; null (so the whole message is kept) when it cannot be written, e.g. nested too deep to stringify. */
function recordBytes(record: unknown): Buffer | null {
  if (record === undefined) return null;
  try {
    return Buffer.from(JSON.stringify(record));
  } catch {
    return null;
  }
}

function batchRecords(value: Buffer | null): unknown[] {
  try {
    const parsed = JSON.parse(value?.toString('utf8') ?? 'null') as { records?: unknown };
    return Array.isArray(parsed?.records) ? parsed.records : [];
  } catch {
    return [];
  }
}

function firstOffsetOf(batch: PartitionBatch): bigint {
  return BigInt(batch.packed ? batch.packed.offset(0) : batch.messages[0].offset);
}

/**
 * The offsets a partition's batch skipped: its first message at or past the ledger's next offset
 * (the ones before were stored already) comes after it. Nothing is known of a partition with no
 * stored offset (it starts where Kafka's committed offset or auto.offset.reset says).
 */
export function offsetGapOf(nextOffset: bigint, batch: PartitionBatch, firstNew: number): OffsetGap | undefined {
  const count = batch.packed?.count ?? batch.messages.length;
  if (nextOffset < 0n || firstNew >= count) return undefined;
  const first = BigInt(batch.packed ? batch.packed.offset(firstNew) : batch.messages[firstNew].offset);
  return first > nextOffset ? { fromOffset: nextOffset, toOffset: first - 1n } : undefined;
}

/** Messages from..to-1 of a batch as a batch of their own (columns shared, nothing copied). */
export function partOfBatch(batch: PartitionBatch, from: number, to: number): PartitionBatch {
  const packed = batch.packed;
  let messages: PartitionBatch['messages'] | undefined;
  return {
    topic: batch.topic,
    partition: batch.partition,
    get messages() {
      return (messages ??= packed ? Array.from({ length: to - from }, (_, m) => packed.message(from + m)) : batch.messages.slice(from, to));
    },
    packed: packed && {
      count: to - from,
      buffer: packed.buffer,
      starts: packed.starts.subarray(from, to),
      ends: packed.ends.subarray(from, to),
      offset: (m) => packed.offset(from + m),
      message: (m) => packed.message(from + m),
    },
    heartbeat: () => batch.heartbeat(),
    isStale: () => batch.isStale(),
  };
}

/**
 * A one-message batch rejected whole (EVENT_UNPROCESSABLE): nothing of it is counted, the
 * partition moves past it. Nothing changes when it was stored before (a replay).
 */
export function rejectedWhole(progress: PartitionDelta['progress'], batch: PartitionBatch, reason: string): PartitionDelta {
  const message = batch.packed ? batch.packed.message(0) : batch.messages[0];
  const offset = BigInt(message.offset);
  const delta: PartitionDelta = { buckets: new Map(), rejections: [], accepted: 0, skippedMessages: 1, progress: { ...progress } };
  if (offset < progress.nextOffset) return delta;
  delta.skippedMessages = 0;
  delta.rejections.push({ offset, index: null, value: message.value, code: ErrorCodes.EVENT_UNPROCESSABLE, reason });
  delta.progress.nextOffset = offset + 1n;
  return delta;
}

const tracer = trace.getTracer('shardcast-ingest');
const meter = metrics.getMeter('shardcast-ingest');
const acceptedCounter = meter.createCounter('ingest.records.accepted', { description: 'telemetry records counted' });
const rejectedCounter = meter.createCounter('ingest.records.rejected', { description: 'telemetry records sent to the DLQ, by code' });
const skippedOffsetsCounter = meter.createCounter('ingest.offsets.skipped', {
  description: 'offsets ingest never read (deleted before it read them, or reset past them), by partition; each gap is in offset_gaps',
});

const MAX_ATTEMPTS = 5;

/** A batch's effect computed on a given ledger, ready to be stored. */
interface PreparedBatch {
  /** The ledger the delta was computed on: storing it is right only if that is still the stored state. */
  base: PartitionLedger;
  delta: PartitionDelta;
  /** The ledger after this batch (the base itself when the whole batch was stored before). */
  next: PartitionLedger;
  /** The write, computed: none when the whole batch was stored before. */
  commit?: PreparedCommit;
}

/** A write refused MAX_ATTEMPTS times because other members kept moving the partition: a race lost, transient (SQLSTATE 40001). */
class PartitionContended extends Error {
  readonly code = '40001';
}

/** A quiet partition the idle close may close: its id (`topic:partition`), stored next offset and quiet time. */
export interface IdleCandidate {
  id: string;
  nextOffset: bigint;
  idleForMs: number;
}

/** A partition's last batch (or idle close) in the pipeline: its preparation and its write. */
interface PartitionPipeline {
  prepared: Promise<PreparedBatch | null>;
  stored: Promise<void>;
  /** Set once `stored` has rejected: later batches start a new chain (the consumer restarted). */
  failed: boolean;
}

/**
 * telemetry.requests.v1 → partial buckets + offset in one atomic write; rejects → DLQ first.
 * Keeps each owned partition's ledger in memory between batches; the stored offset check in the
 * store tells when that copy is stale (another member wrote the partition), and it is reloaded.
 *
 * Pipelined: a partition's next batch is scanned and aggregated on the ledger its previous batch
 * will leave while that batch is still being written, so one hot partition's chain does not wait
 * on PostgreSQL between batches. The writes stay in order, a batch is written only after its
 * predecessor was, and one prepared on a ledger that did not become the stored one (its
 * predecessor's write was refused and redone, or an idle close came between) is recomputed.
 */
export class TelemetryRequestsHandler implements PartitionBatchHandler {
  readonly pipelined = true;
  private readonly ledgers = new Map<string, PartitionLedger>();
  /** Wall-clock time of each partition's last batch, for closing the buckets of idle partitions. */
  private readonly lastBatchAt = new Map<string, number>();
  /** Quiet partitions the idle close keeps open (behind the broker's end), so each is logged once. */
  private readonly heldIdle = new Set<string>();
  private readonly pipelines = new Map<string, PartitionPipeline>();

  constructor(
    private readonly store: PostgresDemandStore,
    private readonly deadLetters: DeadLetterPublisher,
    private readonly relay: OutboxRelay,
    private readonly locator: RegionLocator,
    private readonly policy: AggregationPolicy & OpenBucketLimit,
    private readonly logger: Logger,
    private readonly scanner?: PackedTelemetryScanner,
    /** The service's failure policy (its readiness check and stuck-partition gauge); its own when not given. */
    private readonly failures: ConsumerFailures = new ConsumerFailures(logger, new ReadinessRegistry()),
  ) {}

  storedOffset(topic: string, partition: number): Promise<bigint | null> {
    return this.store.storedOffset(topic, partition);
  }

  handleBatch(batch: PartitionBatch): Promise<void> {
    const id = `${batch.topic}:${batch.partition}`;
    this.lastBatchAt.set(id, Date.now());
    this.heldIdle.delete(id);
    // The C scan runs on the thread pool from now on, also while this partition's previous batch
    // is still being stored; if it fails the messages are decoded in TypeScript.
    const count = batch.packed?.count ?? batch.messages.length;
    const scan = this.scan(batch);
    const previous = this.livePipeline(id);
    const prepared = (previous?.prepared ?? Promise.resolve(null)).then(async (before) => {
      const native = await scan;
      const base = await this.usableLedger(id, batch, before?.next);
      return this.prepare(batch, base, native);
    });
    // A write waits for its predecessor's and fails with it (never stored on top of a gap).
    const stored = (previous?.stored ?? Promise.resolve()).then(() =>
      tracer.startActiveSpan('ingest.flush', { attributes: { 'messaging.destination.partition.id': batch.partition, 'messaging.batch.message_count': count } }, async (span) => {
        try {
          await this.storeUnderPolicy(batch, prepared, scan);
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw err;
        } finally {
          span.end();
        }
      }),
    );
    this.track(id, prepared.catch(() => null), stored);
    return stored;
  }

  /** The native scan of a batch's messages (a packed run is read as columns: batch.messages would build an object per message). */
  private scan(batch: PartitionBatch): Promise<PackedScan | undefined> | undefined {
    return (batch.packed ? this.scanner?.scanPositionsAsync(batch.packed) : this.scanner?.scanPackedAsync(batch.messages))?.catch((err) => {
      this.logger.warn({ err }, 'native telemetry scan failed; decoding this batch in TypeScript');
      return undefined;
    });
  }

  /**
   * Stores a batch under the failure policy (0015). Its first attempt is the prepared write; a
   * failed attempt is retried in place with back-off, prepared again on the stored ledger.
   * Transient (database or broker unreachable, a lock not granted): thrown back after a few tries,
   * so the consumer restarts from the stored offsets, never skipping; the attempts go on counting
   * at the partition's stored offset (readiness false meanwhile, stuck after 5). Unprocessable
   * after its attempts (the same failure every time: a value the database refuses, a bug a
   * message triggers): the message(s) causing it are isolated and rejected, see isolate().
   */
  private async storeUnderPolicy(batch: PartitionBatch, prepared: Promise<PreparedBatch>, scan: Promise<PackedScan | undefined> | undefined): Promise<void> {
    const id = `${batch.topic}:${batch.partition}`;
    let first: { ready: PreparedBatch } | { error: unknown } | undefined = await prepared.then(
      (ready) => ({ ready }),
      (error: unknown) => ({ error }),
    );
    const stored = this.ledgers.get(id)?.progress.nextOffset ?? -1n;
    const position = { topic: batch.topic, partition: batch.partition, offset: String(stored >= 0n ? stored : firstOffsetOf(batch)) };
    const outcome = await this.failures.run(position, async () => {
      const attempt = first;
      first = undefined;
      if (attempt && 'error' in attempt) throw attempt.error;
      await this.write(batch, attempt?.ready ?? null, async (base) => this.prepare(batch, base, await scan));
    });
    if (outcome.outcome === 'unprocessable') await this.isolate(batch, outcome.failure.reason);
  }

  /**
   * A batch that failed unprocessably every time: its messages are stored in halves, and a half
   * that fails is halved again (in offset order: each stored part moves the partition on), down to
   * single messages. A message that still fails after its own retries is rejected whole: one dead
   * letter (its original bytes, EVENT_UNPROCESSABLE, the failure as reason), counted as rejected
   * in the same atomic write as any rejection. Everything else is counted as it would have been.
   * A transient failure meanwhile is thrown back (the consumer restarts from the stored offsets).
   */
  private async isolate(batch: PartitionBatch, reason: string): Promise<void> {
    const count = batch.packed?.count ?? batch.messages.length;
    this.logger.warn({ topic: batch.topic, partition: batch.partition, from: String(firstOffsetOf(batch)), messages: count, reason }, 'telemetry batch unprocessable; isolating the message(s) that fail');
    await this.storeParts(batch, 0, count);
  }

  private async storeParts(batch: PartitionBatch, from: number, to: number): Promise<void> {
    if (to - from === 1) return this.storeOrReject(partOfBatch(batch, from, to));
    const mid = from + Math.floor((to - from) / 2);
    for (const [a, b] of [
      [from, mid],
      [mid, to],
    ]) {
      const part = partOfBatch(batch, a, b);
      await batch.heartbeat();
      try {
        const scan = this.scan(part);
        await this.write(part, null, async (base) => this.prepare(part, base, await scan));
      } catch (err) {
        if (classifyFailure(err).kind === 'transient') throw err;
        await this.storeParts(batch, a, b);
      }
    }
  }

  private async storeOrReject(message: PartitionBatch): Promise<void> {
    const position = { topic: message.topic, partition: message.partition, offset: String(firstOffsetOf(message)) };
    const outcome = await this.failures.run(position, async () => {
      const scan = this.scan(message);
      await this.write(message, null, async (base) => this.prepare(message, base, await scan));
    });
    if (outcome.outcome === 'done') return;
    const reason = `failed ${outcome.attempts} times: ${outcome.failure.reason}`;
    this.logger.warn({ ...position, code: ErrorCodes.EVENT_UNPROCESSABLE, reason }, 'telemetry message rejected');
    await this.write(message, null, async (base) => this.prepareDelta(message, base, rejectedWhole(base.progress, message, reason)));
  }

  private livePipeline(id: string): PartitionPipeline | undefined {
    const p = this.pipelines.get(id);
    return p && !p.failed ? p : undefined;
  }

  private track(id: string, prepared: Promise<PreparedBatch | null>, stored: Promise<void>): void {
    const pipeline: PartitionPipeline = { prepared, stored, failed: false };
    stored.catch(() => (pipeline.failed = true));
    this.pipelines.set(id, pipeline);
  }

  /**
   * The ledger to prepare on: `candidate`, else the one in memory, while it is current; else the
   * stored one. A ledger a transition was made from is superseded (its open map moved on with
   * it), which after a failed or refused write leaves only the stored state to start from.
   */
  private async usableLedger(id: string, batch: PartitionBatch, candidate?: PartitionLedger): Promise<PartitionLedger> {
    if (candidate && isLedgerCurrent(candidate)) return candidate;
    const inMemory = this.ledgers.get(id);
    return inMemory && isLedgerCurrent(inMemory) ? inMemory : this.loadLedger(id, batch);
  }

  private async loadLedger(id: string, batch: PartitionBatch): Promise<PartitionLedger> {
    const { progress, open, closedUpToMs } = await this.store.loadLedger(batch.topic, batch.partition);
    const ledger = { progress: progressPastClosedMinutes(progress, closedUpToMs, this.policy), open };
    this.ledgers.set(id, ledger);
    return ledger;
  }

  private prepare(batch: PartitionBatch, base: PartitionLedger, native: PackedScan | undefined): PreparedBatch {
    // Offsets stay strings: the aggregator parses the few it needs.
    return this.prepareDelta(batch, base, aggregatePartitionMessages(base.progress, batch.packed ?? batch.messages, this.locator, this.policy, Date.now(), native));
  }

  /** The write of a batch's delta (its counts, closed buckets, rejections, gap) on `base`. */
  private prepareDelta(batch: PartitionBatch, base: PartitionLedger, delta: PartitionDelta): PreparedBatch {
    if (delta.progress.nextOffset === base.progress.nextOffset) return { base, delta, next: base }; // stored before (replay)
    const transition = applyPartitionDelta(base, delta, this.policy);
    const late = delta.rejections.filter((r) => r.code === ErrorCodes.TELEMETRY_LATE).length;
    const counts = { accepted: delta.accepted, rejected: delta.rejections.length, late };
    const gap = offsetGapOf(base.progress.nextOffset, batch, delta.skippedMessages);
    return { base, delta, next: transition.next, commit: this.store.prepareCommit(batch.topic, batch.partition, base.progress.nextOffset, transition, counts, gap) };
  }

  /**
   * Closes the open buckets of partitions that received nothing for `idleMs`: without it the last
   * minutes of a quiet partition (or of a finished replay) would never be published. The
   * partition's watermark moves just past its newest open bucket, as if event time had advanced
   * by the allowed lateness, and that move is stored with the offset like any other.
   *
   * `mayClose` has the last word on a quiet partition (idleCloseVerdict: quiet is not enough, it
   * must also have read what the broker holds); without it, quiet is enough.
   */
  async closeIdlePartitions(idleMs: number, now = Date.now(), mayClose: (partition: IdleCandidate) => IdleCloseVerdict = () => ({ close: true, reason: 'caught-up' })): Promise<number> {
    let closed = 0;
    const held: Array<{ partition: string; nextOffset: string; reason: string }> = [];
    for (const [id, ledger] of [...this.ledgers]) {
      if (ledger.open.size === 0 || now - (this.lastBatchAt.get(id) ?? now) < idleMs) continue;
      const [topic, partition] = [id.slice(0, id.lastIndexOf(':')), Number(id.slice(id.lastIndexOf(':') + 1))];
      const previous = this.livePipeline(id);
      const closing = (previous?.stored ?? Promise.resolve()).then(async () => {
        // One partition's close in memory at a time: all partitions going idle together (the end of
        // a replay) closed 10^5 buckets each, and their events, built and waiting for the broker at
        // once, pushed the heap to its cap (a bench:scale run stalled in garbage collection).
        await this.relay.writtenSettled();
        const current = this.ledgers.get(id);
        if (!current || current.open.size === 0 || !isLedgerCurrent(current)) return; // a batch is already being prepared on it
        const idleForMs = now - (this.lastBatchAt.get(id) ?? now);
        const verdict = mayClose({ id, nextOffset: current.progress.nextOffset, idleForMs });
        if (!verdict.close) {
          if (verdict.reason === 'active') return;
          // Behind the end because another member took the partition over (nothing tells the
          // handler of a revocation) and moved it on: the ledger is stale, drop it rather than hold it.
          const stored = await this.store.storedOffset(topic, partition);
          if (stored !== current.progress.nextOffset) {
            if (this.ledgers.get(id) === current) this.ledgers.delete(id);
            this.heldIdle.delete(id);
            return;
          }
          held.push({ partition: id, nextOffset: String(current.progress.nextOffset), reason: verdict.reason });
          return;
        }
        this.heldIdle.delete(id);
        let newestEnd = -Infinity; // a loop: spreading many entries into Math.max overflows the stack
        for (const e of current.open.values()) newestEnd = Math.max(newestEnd, e.key.bucketStartMs + BUCKET_MS);
        const progress = { ...current.progress, maxEventTimeMs: Math.max(current.progress.maxEventTimeMs, newestEnd + this.policy.allowedLatenessMs) };
        const transition = applyPartitionDelta(current, { buckets: new Map(), rejections: [], accepted: 0, skippedMessages: 0, progress }, this.policy);
        const result = await this.store.commit(topic, partition, current.progress.nextOffset, transition, { accepted: 0, rejected: 0, late: 0 });
        if (result.committed) {
          this.ledgers.set(id, transition.next);
          closed += transition.closed.length;
          this.relay.publishWritten(result.outbox, result.outboxRows);
        } else {
          this.ledgers.delete(id); // another member owns it now
        }
      });
      // The next batch prepares on the ledger this leaves; a failed close does not fail it.
      const settled = closing.catch(() => undefined);
      this.track(id, settled.then(() => null), settled);
      await closing;
    }
    if (closed > 0) this.logger.info({ buckets: closed }, 'closed buckets of idle partitions');
    // Quiet but behind the broker's end: records are on their way (or the process is starved).
    // Said once when a partition starts being held, not on every tick it stays so.
    const newlyHeld = held.filter((h) => !this.heldIdle.has(h.partition));
    for (const h of newlyHeld) this.heldIdle.add(h.partition);
    if (newlyHeld.length > 0) this.logger.info({ partitions: newlyHeld }, 'idle partitions kept open: not caught up with the broker');
    return closed;
  }

  /**
   * Stores a prepared batch (dead letters first, then one atomic write), recomputing it with
   * `prepare` first if its base is not the stored state.
   */
  private async write(batch: PartitionBatch, ready: PreparedBatch | null, prepare: (base: PartitionLedger) => Promise<PreparedBatch>): Promise<void> {
    const id = `${batch.topic}:${batch.partition}`;
    let step = ready;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const current = this.ledgers.get(id);
      if (!step || step.base !== current) step = await prepare(await this.usableLedger(id, batch));
      const { delta, commit } = step;
      if (!commit) return; // everything in this batch was stored before (replay)
      await this.deadLetters.publish(deadLettersFor(batch, delta.rejections));
      const result = await this.store.commitPrepared(commit);
      if (result.committed) {
        this.ledgers.set(id, step.next);
        acceptedCounter.add(delta.accepted, { partition: batch.partition });
        for (const r of delta.rejections) rejectedCounter.add(1, { code: r.code });
        if (commit.gap) this.reportGap(batch, commit.gap);
        this.relay.publishWritten(result.outbox, result.outboxRows);
        return;
      }
      // Another member stored this partition since we loaded it: reload and recompute.
      this.logger.info({ partition: batch.partition, storedOffset: result.storedOffset.toString() }, 'partition moved on elsewhere; reloading');
      this.ledgers.delete(id);
      step = null;
    }
    throw new PartitionContended(`partition ${id}: gave up after ${MAX_ATTEMPTS} conflicting writes`);
  }

  private reportGap(batch: PartitionBatch, gap: OffsetGap): void {
    const count = gap.toOffset - gap.fromOffset + 1n;
    skippedOffsetsCounter.add(Number(count), { partition: batch.partition });
    this.logger.warn(
      { topic: batch.topic, partition: batch.partition, from: gap.fromOffset.toString(), to: gap.toOffset.toString(), count: count.toString() },
      'offsets skipped: records deleted before ingest read them (retention, DeleteRecords) or an offset reset; recorded in offset_gaps',
    );
  }

  /** Forget ledgers (on revocation we cannot observe, the offset check covers us). */
  reset(): void {
    this.ledgers.clear();
    this.pipelines.clear();
  }
}
