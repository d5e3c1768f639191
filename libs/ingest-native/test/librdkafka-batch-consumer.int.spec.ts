import { kcat, eventually, stackEnv, uniqueName } from '@shardcast/test-stack';
import { createKafka, createLogger, ensureTopics, PartitionBatch, PartitionBatchHandler } from '@shardcast/platform';
import { LibrdkafkaBatchConsumer, loadLibrdkafkaConsumer } from '../src';

jest.setTimeout(120_000);

const env = stackEnv();
const kafka = createKafka(env.KAFKA_BROKERS.split(','), 'librdkafka-consumer-test');
const logger = createLogger('librdkafka-consumer-test', 'warn');
const PARTITIONS = 3;
/** Per partition per production; each test has its own group, the last one produces twice more. */
const PER_PARTITION = 400;

/** Records what a consumer hands over, per partition, like a store keyed by offsets would. */
class RecordingHandler implements PartitionBatchHandler {
  readonly handled = new Map<number, Array<{ offset: number; key: string | null; value: string | null }>>();
  readonly batches: PartitionBatch[] = [];
  stored = new Map<number, bigint>();
  failNext = 0;

  async handleBatch(batch: PartitionBatch): Promise<void> {
    this.batches.push(batch);
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('injected handler failure');
    }
    const list = this.handled.get(batch.partition) ?? [];
    for (const m of batch.messages) list.push({ offset: Number(m.offset), key: m.key?.toString() ?? null, value: m.value?.toString() ?? null });
    this.handled.set(batch.partition, list);
  }

  async storedOffset(_topic: string, partition: number): Promise<bigint | null> {
    return this.stored.get(partition) ?? null;
  }

  count(): number {
    return [...this.handled.values()].reduce((n, l) => n + l.length, 0);
  }

  offsets(partition: number): number[] {
    return (this.handled.get(partition) ?? []).map((m) => m.offset);
  }
}

/** A pipelined handler whose calls are held until the test opens the gate. */
class GatedPipelinedHandler extends RecordingHandler {
  readonly pipelined = true;
  readonly held: Array<{ batch: PartitionBatch; release: () => void }> = [];
  private gated = true;

  override async handleBatch(batch: PartitionBatch): Promise<void> {
    if (this.gated) await new Promise<void>((release) => this.held.push({ batch, release }));
    return super.handleBatch(batch);
  }

  open(): void {
    this.gated = false;
    for (const h of this.held) h.release();
  }
}

async function produce(topic: string): Promise<void> {
  for (let p = 0; p < PARTITIONS; p++) {
    const lines = Array.from({ length: PER_PARTITION }, (_, i) => `k${p}-${i}\t{"p":${p},"i":${i}}`);
    await kcat(['-b', env.KAFKA_BROKERS, '-t', topic, '-P', '-p', String(p), '-K', '\t', '-z', 'lz4'], `${lines.join('\n')}\n`);
  }
}

async function committed(group: string, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map(t.partitions.map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('LibrdkafkaBatchConsumer (native addon, real broker)', () => {
  const prefix = `${uniqueName('rdk')}.`;
  const topic = `${prefix}rdk.test.v1`;
  const consumers: LibrdkafkaBatchConsumer[] = [];
  const consumer = (group: string, handler: PartitionBatchHandler, maxBatchMessages = 100, librdkafka: Record<string, string> = {}) => {
    const c = new LibrdkafkaBatchConsumer({ brokers: env.KAFKA_BROKERS.split(','), groupId: group, topic, maxBatchMessages, sessionTimeoutMs: 6_000, librdkafka }, handler, logger);
    consumers.push(c);
    return c;
  };

  beforeAll(async () => {
    expect(loadLibrdkafkaConsumer().error).toBeUndefined(); // npm test builds it (SHARDCAST_NATIVE=required)
    await ensureTopics(kafka, [{ name: 'rdk.test.v1', compacted: false }], PARTITIONS, prefix);
    await produce(topic);
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
  });
  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('hands every message once, in offset order per partition, with its key and value, and commits after the handler', async () => {
    const group = uniqueName('rdk-all');
    const h = new RecordingHandler();
    await consumer(group, h).start();
    await eventually(async () => h.count(), (n) => n >= PARTITIONS * PER_PARTITION);
    for (let p = 0; p < PARTITIONS; p++) {
      expect(h.offsets(p)).toEqual(range(0, PER_PARTITION));
      const list = h.handled.get(p)!;
      expect(list[7]).toEqual({ offset: 7, key: `k${p}-7`, value: `{"p":${p},"i":7}` });
    }
    // Batches never mix partitions, and several messages travel together.
    expect(h.batches.every((b) => b.messages.length > 0)).toBe(true);
    expect(Math.max(...h.batches.map((b) => b.messages.length))).toBeGreaterThan(1);
    // The columns a hot path reads instead of the message objects say the same.
    for (const b of h.batches) {
      const p = b.packed!;
      const columns = Array.from({ length: p.count }, (_, m) => ({
        offset: p.offset(m),
        value: p.starts[m] < 0 ? null : p.buffer.toString('utf8', p.starts[m], p.ends[m]),
        key: p.message(m).key?.toString() ?? null,
      }));
      expect(columns).toEqual(b.messages.map((m) => ({ offset: Number(m.offset), value: m.value?.toString() ?? null, key: m.key?.toString() ?? null })));
    }
    const offsets = await eventually(() => committed(group, topic), (m) => [...m.values()].every((o) => o === PER_PARTITION));
    expect([...offsets.keys()].sort()).toEqual(range(0, PARTITIONS));
  });

  it('starts each assigned partition at the stored offset, ahead of or behind what Kafka committed', async () => {
    const group = uniqueName('rdk-seek');
    // First pass commits everything.
    const first = new RecordingHandler();
    const c1 = consumer(group, first);
    await c1.start();
    await eventually(() => committed(group, topic), (m) => m.size === PARTITIONS && [...m.values()].every((o) => o === PER_PARTITION));
    await c1.stop();
    // The store says: partition 0 is at 350 (behind the commit: e.g. restored), 1 at 400, 2 unknown.
    const second = new RecordingHandler();
    second.stored = new Map([
      [0, 350n],
      [1, 400n],
    ]);
    await consumer(group, second).start();
    await eventually(async () => second.offsets(0).length, (n) => n >= 50);
    expect(second.offsets(0)).toEqual(range(350, 400));
    expect(second.offsets(1)).toEqual([]);
    expect(second.offsets(2)).toEqual([]);
  });

  it('restarts after a failing handler and hands the failed batch again (nothing was committed for it)', async () => {
    const group = uniqueName('rdk-fail');
    const h = new RecordingHandler();
    h.failNext = 1;
    await consumer(group, h).start();
    await eventually(async () => h.count(), (n) => n >= PARTITIONS * PER_PARTITION, 60_000);
    const failed = h.batches[0];
    // Every offset arrived; the failed batch's messages came again after the restart.
    for (let p = 0; p < PARTITIONS; p++) expect([...new Set(h.offsets(p))].sort((a, b) => a - b)).toEqual(range(0, PER_PARTITION));
    expect(h.offsets(failed.partition)).toEqual(expect.arrayContaining(failed.messages.map((m) => Number(m.offset))));
  });

  it('hands a pipelined handler a partition\'s next batch before the previous one settled, and commits only what settled, in order', async () => {
    const group = uniqueName('rdk-pipe');
    const h = new GatedPipelinedHandler();
    await consumer(group, h).start();
    const partitionsHeldTwice = (held: GatedPipelinedHandler['held']) => [...new Set(held.map((x) => x.batch.partition))].filter((p) => held.filter((x) => x.batch.partition === p).length >= 2);
    const held = await eventually(async () => [...h.held], (list) => partitionsHeldTwice(list).length > 0);
    // Nothing held was committed: Kafka's offsets stay at or before each partition's first held batch.
    const before = await committed(group, topic);
    for (const p of partitionsHeldTwice(held)) {
      const first = Math.min(...held.filter((x) => x.batch.partition === p).flatMap((x) => x.batch.messages.map((m) => Number(m.offset))));
      expect(before.get(p) ?? -1).toBeLessThanOrEqual(first);
    }
    h.open();
    await eventually(async () => h.count(), (n) => n >= PARTITIONS * PER_PARTITION);
    for (let p = 0; p < PARTITIONS; p++) expect(h.offsets(p)).toEqual(range(0, PER_PARTITION));
    await eventually(() => committed(group, topic), (m) => m.size === PARTITIONS && [...m.values()].every((o) => o === PER_PARTITION));
  });

  it('settles start() when stopped before the group assigned anything', async () => {
    const c = consumer(uniqueName('rdk-stop'), new RecordingHandler());
    const outcome = c.start().then(
      () => 'resolved',
      () => 'rejected',
    );
    await c.stop();
    await expect(Promise.race([outcome, new Promise((r) => setTimeout(() => r('pending'), 10_000).unref())])).resolves.not.toBe('pending');
  });

  // The eager protocol (librdkafka's default) and the cooperative one; the second test also
  // produces twice more, so later offsets exist (offsets 400..1199).
  it.each([
    ['the eager protocol', 'range,roundrobin', 1],
    ['the cooperative protocol', 'cooperative-sticky', 3],
  ])('with %s, splits partitions between two members and, when one leaves, the other takes its partitions over', async (_name, strategy, round) => {
    const group = uniqueName('rdk-group');
    const a = new RecordingHandler();
    const b = new RecordingHandler();
    const base = (round - 1) * PER_PARTITION;
    const opts = { 'partition.assignment.strategy': strategy };
    const ca = consumer(group, a, 100, opts);
    await ca.start();
    await eventually(async () => a.count(), (n) => n >= PARTITIONS * (base + PER_PARTITION));
    const cb = consumer(group, b, 100, opts);
    await cb.start();
    // Settled: b holds partitions and the two hold each partition once (cooperative rebalancing
    // takes two rounds, and b's first assignment may be empty).
    await eventually(
      async () => [...ca.assignment, ...cb.assignment],
      (all) => cb.assignment.length > 0 && all.length === PARTITIONS && new Set(all).size === PARTITIONS,
    );
    // The group has split: a no longer holds every partition, b holds the rest.
    const assignedTo = async (h: RecordingHandler, from: number) => new Set([...h.handled].filter(([, l]) => l.some((m) => m.offset >= from)).map(([p]) => p));
    await produce(topic);
    await eventually(async () => a.count() + b.count(), (n) => n >= PARTITIONS * (base + 2 * PER_PARTITION));
    const ofA = await assignedTo(a, base + PER_PARTITION);
    const ofB = await assignedTo(b, base + PER_PARTITION);
    expect(ofB.size).toBeGreaterThan(0);
    expect([...ofA].filter((p) => ofB.has(p))).toEqual([]);
    await cb.stop();
    await produce(topic); // a must take b's partitions from b's commits
    const total = base + 3 * PER_PARTITION;
    await eventually(async () => new Set(range(0, PARTITIONS).flatMap((p) => [...a.offsets(p), ...b.offsets(p)].map((o) => `${p}:${o}`))).size, (n) => n >= PARTITIONS * total, 60_000);
    for (const p of ofB) expect(a.offsets(p).filter((o) => o >= base + 2 * PER_PARTITION)).toEqual(range(base + 2 * PER_PARTITION, total));
    for (let p = 0; p < PARTITIONS; p++) {
      const union = [...new Set([...a.offsets(p), ...b.offsets(p)])].sort((x, y) => x - y);
      expect(union).toEqual(range(0, total));
    }
  });
});
