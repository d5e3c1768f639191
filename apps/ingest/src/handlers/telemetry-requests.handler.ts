import { metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { ErrorCodes } from '@shardcast/contracts';
import { DeadLetter, DeadLetterPublisher, Logger, OutboxRelay, PartitionBatch, PartitionBatchHandler } from '@shardcast/platform';
import {
  AggregationPolicy,
  aggregatePartitionMessages,
  NativeTelemetryScanner,
  PackedScan,
  applyPartitionDelta,
  BUCKET_MS,
  MessageRejection,
  PartitionLedger,
  RegionLocator,
} from '@shardcast/telemetry';
import { PostgresDemandStore } from '../persistence/postgres-demand-store';

const MAX_REASON_CHARS = 1000;

/**
 * One dead letter per rejected message, with its original bytes once: a batch message with many
 * bad records must not fan out into many copies of itself (DLQ size, producer request limits).
 * The record indices and the reason of each go in the headers.
 */
export function deadLettersFor(batch: PartitionBatch, rejections: MessageRejection[]): DeadLetter[] {
  if (rejections.length === 0) return [];
  const keyByOffset = new Map(batch.messages.map((m) => [String(m.offset), m.key ?? null]));
  const byOffset = new Map<bigint, MessageRejection[]>();
  for (const r of rejections) byOffset.set(r.offset, [...(byOffset.get(r.offset) ?? []), r]);
  return [...byOffset].map(([offset, list]) => {
    const indexed = list.filter((r) => r.index !== null);
    const reason = list.map((r) => (r.index === null ? r.reason : `record ${r.index}: ${r.code}: ${r.reason}`)).join('; ');
    return {
      sourceTopic: batch.topic,
      partition: batch.partition,
      offset: offset.toString(),
      key: keyByOffset.get(offset.toString()) ?? null,
      value: list[0].value,
      code: list[0].code,
      reason: reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 20)}… (${list.length} rejected)` : reason,
      recordIndices: indexed.length ? indexed.map((r) => r.index as number) : undefined,
    };
  });
}

const tracer = trace.getTracer('shardcast-ingest');
const meter = metrics.getMeter('shardcast-ingest');
const acceptedCounter = meter.createCounter('ingest.records.accepted', { description: 'telemetry records counted' });
const rejectedCounter = meter.createCounter('ingest.records.rejected', { description: 'telemetry records sent to the DLQ, by code' });

const MAX_ATTEMPTS = 5;

/**
 * telemetry.requests.v1 → partial buckets + offset in one transaction; rejects → DLQ first.
 * Keeps each owned partition's ledger in memory between batches; the stored offset check in the
 * store tells when that copy is stale (another member wrote the partition), and it is reloaded.
 */
export class TelemetryRequestsHandler implements PartitionBatchHandler {
  private readonly ledgers = new Map<string, PartitionLedger>();
  /** Wall-clock time of each partition's last batch, for closing the buckets of idle partitions. */
  private readonly lastBatchAt = new Map<string, number>();
  /** One flush or idle close at a time per partition. */
  private readonly partitionTails = new Map<string, Promise<void>>();

  constructor(
    private readonly store: PostgresDemandStore,
    private readonly deadLetters: DeadLetterPublisher,
    private readonly relay: OutboxRelay,
    private readonly locator: RegionLocator,
    private readonly policy: AggregationPolicy,
    private readonly logger: Logger,
    private readonly scanner?: NativeTelemetryScanner,
  ) {}

  storedOffset(topic: string, partition: number): Promise<bigint | null> {
    return this.store.storedOffset(topic, partition);
  }

  async handleBatch(batch: PartitionBatch): Promise<void> {
    const id = `${batch.topic}:${batch.partition}`;
    this.lastBatchAt.set(id, Date.now());
    // The C scan runs on the thread pool from now on, also while this partition's previous batch
    // is still being stored; if it fails the messages are decoded in TypeScript.
    const scan = this.scanner?.scanPackedAsync(batch.messages).catch((err) => {
      this.logger.warn({ err }, 'native telemetry scan failed; decoding this batch in TypeScript');
      return undefined;
    });
    await this.serialized(id, () => this.tracedFlush(batch, scan));
  }

  private serialized(id: string, work: () => Promise<void>): Promise<void> {
    const run = (this.partitionTails.get(id) ?? Promise.resolve()).then(work, work);
    const tail = run.catch(() => undefined);
    this.partitionTails.set(id, tail);
    return run;
  }

  /**
   * Closes the open buckets of partitions that received nothing for `idleMs`: without it the last
   * minutes of a quiet partition (or of a finished replay) would never be published. The
   * partition's watermark moves just past its newest open bucket, as if event time had advanced
   * by the allowed lateness, and that move is stored with the offset like any other.
   */
  async closeIdlePartitions(idleMs: number, now = Date.now()): Promise<number> {
    let closed = 0;
    for (const [id, ledger] of [...this.ledgers]) {
      if (ledger.open.size === 0 || now - (this.lastBatchAt.get(id) ?? now) < idleMs) continue;
      const [topic, partition] = [id.slice(0, id.lastIndexOf(':')), Number(id.slice(id.lastIndexOf(':') + 1))];
      await this.serialized(id, async () => {
        const current = this.ledgers.get(id);
        if (!current || current.open.size === 0) return;
        let newestEnd = -Infinity; // a loop: spreading many entries into Math.max overflows the stack
        for (const e of current.open.values()) newestEnd = Math.max(newestEnd, e.key.bucketStartMs + BUCKET_MS);
        const progress = { ...current.progress, maxEventTimeMs: Math.max(current.progress.maxEventTimeMs, newestEnd + this.policy.allowedLatenessMs) };
        const transition = applyPartitionDelta(current, { buckets: new Map(), rejections: [], accepted: 0, skippedMessages: 0, progress }, this.policy);
        const result = await this.store.commit(topic, partition, current.progress.nextOffset, transition, { accepted: 0, rejected: 0, late: 0 });
        if (result.committed) {
          this.ledgers.set(id, transition.next);
          closed += transition.closed.length;
          if (result.events > 0) this.relay.kick();
        } else {
          this.ledgers.delete(id); // another member owns it now
        }
      });
    }
    if (closed > 0) this.logger.info({ buckets: closed }, 'closed buckets of idle partitions');
    return closed;
  }

  private async tracedFlush(batch: PartitionBatch, scan?: Promise<PackedScan | undefined>): Promise<void> {
    await tracer.startActiveSpan('ingest.flush', { attributes: { 'messaging.destination.partition.id': batch.partition, 'messaging.batch.message_count': batch.messages.length } }, async (span) => {
      try {
        await this.flush(batch, scan);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw err;
      } finally {
        span.end();
      }
    });
  }

  private async flush(batch: PartitionBatch, scan?: Promise<PackedScan | undefined>): Promise<void> {
    const id = `${batch.topic}:${batch.partition}`;
    const messages = batch.messages; // offsets stay strings: the aggregator parses the few it needs
    const native = await scan;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const ledger = this.ledgers.get(id) ?? (await this.store.loadLedger(batch.topic, batch.partition));
      const delta = aggregatePartitionMessages(ledger.progress, messages, this.locator, this.policy, Date.now(), native);
      if (delta.progress.nextOffset === ledger.progress.nextOffset) {
        this.ledgers.set(id, ledger);
        return; // everything in this batch was stored before (replay)
      }
      await this.deadLetters.publish(deadLettersFor(batch, delta.rejections));
      const transition = applyPartitionDelta(ledger, delta, this.policy);
      const late = delta.rejections.filter((r) => r.code === ErrorCodes.TELEMETRY_LATE).length;
      const result = await this.store.commit(batch.topic, batch.partition, ledger.progress.nextOffset, transition, {
        accepted: delta.accepted,
        rejected: delta.rejections.length,
        late,
      });
      if (result.committed) {
        this.ledgers.set(id, transition.next);
        acceptedCounter.add(delta.accepted, { partition: batch.partition });
        for (const r of delta.rejections) rejectedCounter.add(1, { code: r.code });
        if (result.events > 0) this.relay.kick();
        return;
      }
      // Another member stored this partition since we loaded it: reload and recompute.
      this.logger.info({ partition: batch.partition, storedOffset: result.storedOffset.toString() }, 'partition moved on elsewhere; reloading');
      this.ledgers.delete(id);
    }
    throw new Error(`partition ${id}: gave up after ${MAX_ATTEMPTS} conflicting writes`);
  }

  /** Forget ledgers (on revocation we cannot observe, the offset check covers us). */
  reset(): void {
    this.ledgers.clear();
  }
}
