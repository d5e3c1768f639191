/**
 * Hostile-input benchmark (a check, not a speed): does every consumer survive every message?
 *
 *   npm run bench:hostile [-- --valid 100000] [--hostile 10000] [--partitions 6] [--clients librdkafka,kafkajs] [--timeout-s 300]
 *
 * 1. One idempotent producer (kafkajs, in order) writes `--valid` valid telemetry records
 *    interleaved with `--hostile` hostile messages of many kinds (below) to a fresh
 *    telemetry.requests.v1. Each kind knows what it must cost: its dead letters (one per rejected
 *    record of a batch, one per whole bad message) and the valid records it carries.
 * 2. Ingest runs on each Kafka client in turn (fresh consumer group and schema, the same topic):
 *    done when its progress counts every record, or at the timeout. Counted totals must equal the
 *    valid records exactly.
 * 3. Then hostile events on every internal topic, consumed by every service that reads it (the
 *    services as real processes); each topic ends with one valid event per partition, so a
 *    consumer that stalls on a hostile one never reaches its group's end offset.
 * 4. Dead letters are counted in the unit of the contract: distinct `x-dead-letter-id` per
 *    consumer group (a redelivery repeats an id), plus the rows of every quarantine table.
 *    A partition is stalled when its group's committed offset is short of the end at the
 *    timeout; a crash is a service process that exited by itself.
 *
 * 5. The client SDK of shard.assigned.v1 (@shardcast/shard-client) reads that topic's hostile
 *    events too: it must skip each invalid one and reach the end of every partition.
 *
 * Ends with one JSON line: {"bench":"hostile","messages","valid_records","counted_exact",
 * "dead_letters","dead_letters_expected","quarantined","stalled_partitions","crashes",
 * "sdk_invalid_skipped","sdk_invalid_expected","sdk_reached_end"}.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CompressionTypes, Kafka, Message, Producer } from 'kafkajs';
import { Client } from 'pg';
import {
  CapacityPlanEventSchema,
  contractTopicSpecs,
  DeadLetterHeaders,
  DemandForecastEventSchema,
  DemandObservedBatchEventSchema,
  DemandObservedEventSchema,
  DomainRegisteredEventSchema,
  ShardAssignedEventSchema,
  ShardHealthEventSchema,
  Topics,
} from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { ShardClient } from '@shardcast/shard-client';
import { eventually, kcat, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';
import { generateTelemetry, seededRandom } from '@shardcast/test-stack';

const { values: args } = parseArgs({
  options: {
    valid: { type: 'string', default: '100000' },
    hostile: { type: 'string', default: '10000' },
    partitions: { type: 'string', default: '6' },
    clients: { type: 'string', default: 'librdkafka,kafkajs' },
    'timeout-s': { type: 'string', default: '300' },
    keep: { type: 'boolean', default: false },
  },
});

const env = stackEnv();
const brokers = env.KAFKA_BROKERS.split(',');
const prefix = `${uniqueName('hostile')}.`;
const groupPrefix = uniqueName('hostile-g');
const partitions = Number(args.partitions);
const timeoutMs = Number(args['timeout-s']) * 1000;
const random = seededRandom(7);
const START_MS = Date.UTC(2014, 3, 10);

/** What one hostile message must cost each consumer group that reads it. */
interface Hostile {
  kind: string;
  message: Message;
  deadLetters: number;
  validRecords: number;
}

const validRecord = (i: number) => generateTelemetry(1, { seed: 1_000_000 + i, startMs: START_MS + i, stepMs: 1 })[0];
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** Each kind of hostile telemetry, built around event time `at` (ms) so nothing is late. */
const telemetryKinds: Array<(at: number) => Hostile> = [
  // A batch near the broker's limit once compressed (1.4 MB of JSON), a few bad records inside.
  (at) => {
    const records: unknown[] = Array.from({ length: 10_000 }, (_, i) => ({ ...validRecord(at + i), timestamp: at }));
    for (const i of [17, 4242, 9999]) records[i] = { ...(records[i] as object), status: 999 };
    return { kind: 'oversized-batch-few-bad', message: { value: json({ records }) }, deadLetters: 3, validRecords: 9_997 };
  },
  // A whole invalid message as large as the broker takes compressed (random text barely compresses).
  () => ({ kind: 'oversized-invalid', message: { value: Buffer.from(`{"records":"${randomBytes(700_000).toString('base64')}"}`) }, deadLetters: 1, validRecords: 0 }),
  (at) => {
    const records: unknown[] = Array.from({ length: 100 }, (_, i) => ({ ...validRecord(at + i), timestamp: at }));
    records[3] = { ...(records[3] as object), latencyMs: -1 };
    records[50] = 'not a record';
    return { kind: 'batch-few-bad', message: { value: json({ records }) }, deadLetters: 2, validRecords: 98 };
  },
  () => ({ kind: 'deep-nesting', message: { value: Buffer.from(`{"records":${'['.repeat(5000)}${']'.repeat(5000)}}`) }, deadLetters: 1, validRecords: 0 }),
  (at) => ({ kind: 'nul-in-domain', message: { value: json({ ...validRecord(at), timestamp: at, domain: 'app\u0000.example.com' }) }, deadLetters: 1, validRecords: 0 }),
  (at) => {
    const text = JSON.stringify({ ...validRecord(at), timestamp: at, domain: 'XXXX.example.com' });
    const bytes = Buffer.from(text);
    bytes.set([0xff, 0xfe, 0xc3, 0x28], text.indexOf('XXXX'));
    return { kind: 'invalid-utf8', message: { value: bytes }, deadLetters: 1, validRecords: 0 };
  },
  // Cyrillic 'а': a valid IDN (its own punycode domain), counted like any other.
  (at) => ({ kind: 'homoglyph-domain', message: { value: json({ ...validRecord(at), timestamp: at, domain: 'аpp.example.com' }) }, deadLetters: 0, validRecords: 1 }),
  (at) => ({ kind: '300-char-domain', message: { value: json({ ...validRecord(at), timestamp: at, domain: `${'a'.repeat(60)}.`.repeat(5) + 'com' }) }, deadLetters: 1, validRecords: 0 }),
  (at) => ({ kind: 'number-1e400', message: { value: Buffer.from(JSON.stringify({ ...validRecord(at), timestamp: at }).replace(/"latencyMs":[0-9.]+/, '"latencyMs":1e400')) }, deadLetters: 1, validRecords: 0 }),
  // -0 bytes is 0 bytes: valid.
  (at) => ({ kind: 'minus-zero', message: { value: Buffer.from(JSON.stringify({ ...validRecord(at), timestamp: at }).replace(/"bytes":[0-9]+/, '"bytes":-0')) }, deadLetters: 0, validRecords: 1 }),
  (at) => ({ kind: 'huge-integer', message: { value: Buffer.from(JSON.stringify({ ...validRecord(at), timestamp: at }).replace(/"bytes":[0-9]+/, '"bytes":123456789012345678901234567890')) }, deadLetters: 1, validRecords: 0 }),
  (at) => ({ kind: 'wrong-types', message: { value: json({ ...validRecord(at), timestamp: at, status: '200', client: [1, 2] }) }, deadLetters: 1, validRecords: 0 }),
  () => ({ kind: 'tombstone', message: { value: null }, deadLetters: 1, validRecords: 0 }),
  () => ({ kind: 'empty-value', message: { value: Buffer.alloc(0) }, deadLetters: 1, validRecords: 0 }),
  () => ({ kind: 'binary-garbage', message: { value: randomBytes(64 + Math.floor(random() * 4096)) }, deadLetters: 1, validRecords: 0 }),
  (at) => ({ kind: 'unknown-field', message: { value: json({ ...validRecord(at), timestamp: at, clientIp: '192.0.2.1' }) }, deadLetters: 1, validRecords: 0 }),
  () => ({ kind: 'empty-batch', message: { value: json({ records: [] }) }, deadLetters: 1, validRecords: 0 }),
];

/** Hostile events for an internal topic; every consumer group of the topic must dead-letter each. */
function internalHostile(compacted: boolean): Array<{ kind: string; message: Message; deadLettersPerGroup: number }> {
  const envelope = (type: string, payload: unknown) => ({ eventId: uniqueName('e'), type, occurredAt: new Date().toISOString(), producedBy: 'bench', correlationId: 'c', causationId: null, payload });
  return [
    { kind: 'not-json', message: { key: 'app.example.com', value: Buffer.from('{"eventId": "trunc') }, deadLettersPerGroup: 1 },
    { kind: 'binary-garbage', message: { key: 'app.example.com', value: randomBytes(512) }, deadLettersPerGroup: 1 },
    { kind: 'nul-in-region', message: { key: 'app.example.com', value: json(envelope('x', { domain: 'app.example.com', region: 'eu-west-1\u0000' })) }, deadLettersPerGroup: 1 },
    { kind: 'wrong-type', message: { key: 'app.example.com', value: json({ hello: 'world' }) }, deadLettersPerGroup: 1 },
    { kind: 'deep-nesting', message: { key: 'app.example.com', value: Buffer.from(`${'['.repeat(5000)}${']'.repeat(5000)}`) }, deadLettersPerGroup: 1 },
    { kind: 'huge-number', message: { key: 'app.example.com', value: Buffer.from('{"eventId":"x","payload":{"revision":1e400}}') }, deadLettersPerGroup: 1 },
    // On a compacted topic a tombstone deletes its key's state: valid, never a dead letter.
    { kind: 'tombstone', message: { key: 'app.example.com', value: null }, deadLettersPerGroup: compacted ? 0 : 1 },
    { kind: 'empty-value', message: { key: 'app.example.com', value: Buffer.alloc(0) }, deadLettersPerGroup: 1 },
  ];
}

/** A valid event per internal topic, sent last on each partition (its consumers must reach it). */
function validInternalEvent(topic: string, key: string): Message {
  const at = '2026-11-25T12:00:00.000Z';
  const base = { eventId: uniqueName('valid'), occurredAt: at, producedBy: 'bench', correlationId: 'c', causationId: null };
  const payloads: Record<string, unknown> = {
    [Topics.demandObserved]: { type: 'demand.observed', payload: { domain: key, region: 'eu-west-1', bucketStart: at, bucketSeconds: 60, revision: 1, requests: 1, errors: 0, bytes: 1, latencyMs: { p50: 1, p90: 1, p99: 1, max: 1 }, latencySketch: '' } },
    [Topics.demandObservedV2]: {
      type: 'demand.observed',
      payload: {
        source: { topic: 'telemetry.requests.v1', partition: 0, fromOffset: null, commitOffset: '1', chunk: 0, chunks: 1 },
        buckets: [{ domain: key, region: 'eu-west-1', bucketStart: at, bucketSeconds: 60, revision: 1, requests: 1, errors: 0, bytes: 1, latencyMs: { p50: 1, p90: 1, p99: 1, max: 1 }, latencySketch: '' }],
      },
    },
    // The smallest valid forecast event: a deregistration.
    [Topics.demandForecast]: { type: 'demand.forecast', payload: { kind: 'deregistered', domain: key, deregisteredAt: at, regions: ['eu-west-1'] } },
    [Topics.domainRegistered]: { type: 'domain.registered', payload: { domain: key, appType: 'api', tier: 'free', userBase: { peakRequestsPerSecond: 10 }, markets: [{ country: 'DE', share: 1 }], registeredAt: at } },
    // The smallest valid plan: a released domain's, with no regions.
    [Topics.capacityPlan]: { type: 'capacity.plan', payload: { domain: key, tier: 'free', version: 1, planId: 'p1', validFrom: at, validUntil: '2026-11-25T13:00:00.000Z', regions: [], shortByOrigin: [] } },
    [Topics.shardHealth]: { type: 'shard.health', payload: { domain: key, region: 'eu-west-1', hostname: `eu-west-1.${key}`, windowStart: at, windowSeconds: 60, status: 'healthy', requestsPerSecond: 1, errorRate: 0, latencyMs: { p50: 1, p99: 1 }, utilisation: null } },
    [Topics.shardAssigned]: { type: 'shard.assigned', payload: { domain: key, version: 1, shards: [{ region: 'eu-west-1', hostname: `eu-west-1.${key}`, state: 'active', weight: 1, endpoints: { ipv4: ['192.0.2.1'], ipv6: [] } }], ring: { algorithm: 'bounded-rendezvous-table-xxh32', seed: 1, tableBits: 16, loadBoundPermille: 50 }, movement: { fromVersion: null, moved: 0, exact: true, flows: [] }, pendingMovement: null, source: null } },
  };
  const event = { ...base, ...(payloads[topic] as object) };
  // A contract change must update these too: an invalid "valid" event would be dead-lettered and miscounted.
  const schema = VALID_EVENT_SCHEMAS[topic];
  if (!schema) throw new Error(`no valid event for ${topic}`);
  schema.parse(event);
  return { key, value: json(event) };
}

const VALID_EVENT_SCHEMAS: Record<string, { parse(value: unknown): unknown }> = {
  [Topics.demandObserved]: DemandObservedEventSchema,
  [Topics.demandObservedV2]: DemandObservedBatchEventSchema,
  [Topics.demandForecast]: DemandForecastEventSchema,
  [Topics.domainRegistered]: DomainRegisteredEventSchema,
  [Topics.capacityPlan]: CapacityPlanEventSchema,
  [Topics.shardAssigned]: ShardAssignedEventSchema,
  [Topics.shardHealth]: ShardHealthEventSchema,
};

/** Who consumes each topic a service reads today, besides ingest (the services' own groups). */
const INTERNAL_CONSUMERS: Record<string, string[]> = {
  [Topics.domainRegistered]: ['forecaster'],
  [Topics.demandObserved]: ['forecaster', 'allocator'], // the allocator's reactive net
  [Topics.demandObservedV2]: ['forecaster', 'allocator'],
  [Topics.demandForecast]: ['allocator'],
  [Topics.capacityPlan]: ['shard-assigner', 'dns-publisher'],
  [Topics.shardAssigned]: ['dns-publisher', 'monitor'],
  [Topics.shardHealth]: ['dns-publisher'],
};

async function sendInOrder(producer: Producer, topic: string, messages: Message[]): Promise<void> {
  // Small requests (the broker's 1 MB limit holds per request); gzip lets the 1.4 MB batch through.
  let chunk: Message[] = [];
  let bytes = 0;
  const flush = async () => {
    if (chunk.length) await producer.send({ topic, messages: chunk, compression: CompressionTypes.GZIP, acks: -1 });
    chunk = [];
    bytes = 0;
  };
  for (const m of messages) {
    const size = m.value ? (m.value as Buffer).length : 0;
    if (bytes + size > 512 * 1024) await flush();
    chunk.push(m);
    bytes += size;
  }
  await flush();
}

/** Distinct dead letters per (consumer group, source topic) over every dead-letter topic of this run, keyed `group|topic`. */
async function deadLettersByGroup(): Promise<Map<string, Set<string>>> {
  const byGroup = new Map<string, Set<string>>();
  for (const spec of contractTopicSpecs().filter((s) => s.name.endsWith('.dlq'))) {
    // -J: one JSON object per message, headers escaped (a reason may hold any character, newlines too).
    const out = await kcat(['-b', env.KAFKA_BROKERS, '-t', prefix + spec.name, '-C', '-e', '-q', '-o', 'beginning', '-J']);
    for (const line of out.split('\n').filter(Boolean)) {
      const flat = (JSON.parse(line) as { headers?: Array<string | null> }).headers ?? [];
      const headers = new Map<string, string | null>();
      for (let i = 0; i + 1 < flat.length; i += 2) headers.set(String(flat[i]), flat[i + 1]);
      const group = `${headers.get(DeadLetterHeaders.consumerGroup) ?? '(none)'}|${headers.get(DeadLetterHeaders.sourceTopic)}`;
      const id = headers.get(DeadLetterHeaders.deadLetterId) ?? line;
      if (!byGroup.has(group)) byGroup.set(group, new Set());
      byGroup.get(group)!.add(id);
    }
  }
  return byGroup;
}

async function quarantinedIn(db: Client, schema: string): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM "${schema}".quarantined_messages`).catch(() => ({ rows: [{ n: 0 }] }));
  return rows[0].n as number;
}

/** Partitions whose committed offset for `group` is short of the topic's end offset. */
async function stalledPartitions(kafka: Kafka, group: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const at = new Map(committed.partitions.map((p) => [p.partition, BigInt(p.offset === '-1' ? '0' : p.offset)]));
    return ends.filter((e) => (at.get(e.partition) ?? 0n) < BigInt(e.high)).length;
  } finally {
    await admin.disconnect();
  }
}

async function main(): Promise<void> {
  const kafka = createKafka(brokers, 'bench-hostile');
  const db = new Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  // The source topic takes what a producer may send: up to the broker's 1 MB per compressed batch.
  await ensureTopics(kafka, contractTopicSpecs(), partitions, prefix);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();

  // 1. The telemetry stream: valid records (keyed by domain) with hostile messages between them.
  const validCount = Number(args.valid);
  const hostileCount = Number(args.hostile);
  const messages: Message[] = [];
  const costs = new Map<string, { messages: number; deadLetters: number }>();
  let expectedValid = 0;
  let expectedDeadLetters = 0;
  const hostileEvery = Math.max(1, Math.floor(validCount / hostileCount));
  let hostileSent = 0;
  let kindTurn = 0;
  for (let i = 0; i < validCount || hostileSent < hostileCount; i++) {
    if (i < validCount) {
      const record = { ...validRecord(i), timestamp: START_MS + i };
      messages.push({ key: record.domain, value: json(record) });
      expectedValid += 1;
    }
    if (hostileSent < hostileCount && (i % hostileEvery === 0 || i >= validCount)) {
      let hostile = telemetryKinds[kindTurn++ % telemetryKinds.length](START_MS + i);
      // The oversized kinds are expensive to build and to read: a handful make the point.
      while (hostile.kind.startsWith('oversized') && (costs.get(hostile.kind)?.messages ?? 0) >= 5) hostile = telemetryKinds[kindTurn++ % telemetryKinds.length](START_MS + i);
      messages.push({ key: `hostile-${hostileSent % 97}`, ...hostile.message });
      expectedValid += hostile.validRecords;
      expectedDeadLetters += hostile.deadLetters;
      const cost = costs.get(hostile.kind) ?? { messages: 0, deadLetters: 0 };
      costs.set(hostile.kind, { messages: cost.messages + 1, deadLetters: cost.deadLetters + hostile.deadLetters });
      hostileSent++;
    }
  }
  const telemetryTopic = prefix + Topics.telemetryRequests;
  const produceStart = Date.now();
  await sendInOrder(producer, telemetryTopic, messages);
  console.log(`produced ${messages.length} telemetry messages (${expectedValid} valid records, ${expectedDeadLetters} dead letters expected per consumer) in ${((Date.now() - produceStart) / 1000).toFixed(1)} s`);
  console.table([...costs].map(([kind, c]) => ({ kind, messages: c.messages, dead_letters: c.deadLetters })));

  const processes: ServiceProcess[] = [];
  const schemas: string[] = [];
  // A process that exited by itself makes its kill() reject: that is a crash.
  const crashed = new Set<ServiceProcess>();
  const start = (name: string, extra: Record<string, string>): ServiceProcess => {
    const p = new ServiceProcess(resolve(__dirname, '..', 'apps', name, 'dist', 'src', 'main.js'), { ...env, HTTP_PORT: '0', KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_PREFIX: groupPrefix, LOG_LEVEL: 'info', ...extra }).start();
    processes.push(p);
    return p;
  };

  // 2. Ingest on each client.
  const rows: Array<Record<string, unknown>> = [];
  let countedExact = true;
  let stalled = 0;
  let quarantined = 0;
  let deadLettersExpected = 0;
  const groups: string[] = [];
  for (const client of args.clients.split(',')) {
    const schema = uniqueName(`hostile_ingest_${client}`);
    const group = `${groupPrefix}-ingest-${client}`;
    const letters = `${group}|${telemetryTopic}`;
    schemas.push(schema);
    groups.push(letters);
    const t0 = Date.now();
    const ingest = start('ingest', { INGEST_DB_SCHEMA: schema, INGEST_GROUP_ID: group, INGEST_KAFKA_CLIENT: client, INGEST_IDLE_CLOSE_MS: '2000', LOG_LEVEL: 'info' });
    await ingest.waitForMessage('ingest consuming', 120_000);
    const progress = async () => {
      const { rows: r } = await db
        .query(`SELECT coalesce(sum(accepted_records),0)::bigint AS accepted, coalesce(sum(rejected_records),0)::bigint AS rejected FROM "${schema}".partition_progress`)
        .catch((err: { code?: string }) => {
          if (err.code === '42P01' || err.code === '3F000') return { rows: [{ accepted: '0', rejected: '0' }] };
          throw err;
        });
      return { accepted: Number(r[0].accepted), rejected: Number(r[0].rejected) };
    };
    const seen = await eventually(progress, (p) => p.accepted >= expectedValid, timeoutMs, 500).catch(async () => progress());
    // Every partition must reach the end of the topic (its stored next offset), hostile messages included.
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(telemetryTopic);
    await admin.disconnect();
    const stored = await db.query(`SELECT partition, next_offset FROM "${schema}".partition_progress`).catch(() => ({ rows: [] as Array<{ partition: number; next_offset: string }> }));
    const nextByPartition = new Map(stored.rows.map((r: { partition: number; next_offset: string }) => [Number(r.partition), BigInt(r.next_offset)]));
    const stalledHere = ends.filter((e) => BigInt(e.high) > 0n && (nextByPartition.get(e.partition) ?? 0n) < BigInt(e.high)).length;
    const { rows: totals } = await db.query(`SELECT coalesce(sum(requests),0)::bigint AS requests FROM "${schema}".demand_history`);
    const counted = Number(totals[0].requests);
    const dl = (await eventually(deadLettersByGroup, (m) => (m.get(letters)?.size ?? 0) >= expectedDeadLetters, timeoutMs, 1000).catch(deadLettersByGroup)).get(letters)?.size ?? 0;
    const q = await quarantinedIn(db, schema);
    countedExact &&= counted === expectedValid;
    stalled += stalledHere;
    quarantined += q;
    deadLettersExpected += expectedDeadLetters;
    rows.push({ consumer: `ingest (${client})`, counted, expected: expectedValid, accepted: seen.accepted, dead_letters: dl, quarantined: q, expected_dead_letters: expectedDeadLetters, stalled_partitions: stalledHere, seconds: ((Date.now() - t0) / 1000).toFixed(1) });
    if (seen.accepted < expectedValid) {
      // Say why, by name: ingest's own warnings and errors.
      for (const line of ingest.logLines().filter((l) => Number(l.level) >= 40).slice(-8)) console.log(`ingest (${client}): ${JSON.stringify(line).slice(0, 400)}`);
    }
    await ingest.kill('SIGTERM').catch(() => crashed.add(ingest));
  }

  // 3. Hostile events on every internal topic, then one valid event per partition.
  const services = [...new Set(Object.values(INTERNAL_CONSUMERS).flat())];
  for (const name of services) {
    const schema = uniqueName(`hostile_${name.replace('-', '_')}`);
    schemas.push(schema);
    start(name, { [`${name.toUpperCase().replace('-', '_')}_DB_SCHEMA`]: schema, FORECASTER_API_KEYS: 'k', DNS_DRY_RUN: 'true' }); // dry run: the shared DNS servers keep no zone of this run
  }
  await Promise.all(processes.slice(-services.length).map((p) => p.waitForLog((l) => typeof l.msg === 'string' && l.msg.endsWith(' ready'), 120_000)));
  for (const [topic, consumers] of Object.entries(INTERNAL_CONSUMERS)) {
    const compacted = contractTopicSpecs().find((s) => s.name === topic)!.compacted;
    const hostile = internalHostile(compacted);
    const perGroup = hostile.reduce((n, h) => n + h.deadLettersPerGroup, 0);
    const batch: Message[] = [];
    // Every kind on every partition, then a valid event on each: a consumer stalled on a hostile
    // one never commits past it.
    for (let partition = 0; partition < partitions; partition++) for (const h of hostile) batch.push({ ...h.message, partition });
    for (let partition = 0; partition < partitions; partition++) batch.push({ ...validInternalEvent(topic, 'app.example.com'), partition });
    await sendInOrder(producer, prefix + topic, batch);
    for (const name of consumers) {
      const group = `${groupPrefix}-${name}`;
      const letters = `${group}|${prefix}${topic}`;
      groups.push(letters);
      const expected = perGroup * partitions;
      deadLettersExpected += expected;
      const stalledHere = await eventually(() => stalledPartitions(kafka, group, prefix + topic), (n) => n === 0, timeoutMs, 1000).catch(() => stalledPartitions(kafka, group, prefix + topic));
      const dl = (await eventually(deadLettersByGroup, (m) => (m.get(letters)?.size ?? 0) >= expected, timeoutMs, 1000).catch(deadLettersByGroup)).get(letters)?.size ?? 0;
      stalled += stalledHere;
      rows.push({ consumer: `${name} (${topic})`, dead_letters: dl, expected_dead_letters: expected, stalled_partitions: stalledHere });
    }
  }
  for (const schema of schemas.slice(args.clients.split(',').length)) quarantined += await quarantinedIn(db, schema);

  // 4. The client SDK of shard.assigned.v1 (outside systems' consumer: no dead-letter topic of its
  // own) reads the same hostile events: it must skip each invalid one (onInvalid) and reach the
  // end of every partition, where the valid layouts are.
  const sdkExpected = internalHostile(true).reduce((n, h) => n + h.deadLettersPerGroup, 0) * partitions;
  let sdkInvalid = 0;
  const sdk = await ShardClient.start({ kafka, topic: prefix + Topics.shardAssigned, onInvalid: () => sdkInvalid++ });
  const sdkReachedEnd = await Promise.race([sdk.ready.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref())]);
  const sdkLayout = sdk.layout('app.example.com');
  await sdk.close();
  rows.push({ consumer: `shard-client SDK (${Topics.shardAssigned})`, invalid_skipped: sdkInvalid, expected_invalid: sdkExpected, reached_end: sdkReachedEnd, layout_version: sdkLayout?.version ?? null });

  const byGroup = await deadLettersByGroup();
  const deadLetters = groups.reduce((n, g) => n + (byGroup.get(g)?.size ?? 0), 0);
  console.table(rows);
  await Promise.all(processes.map((p) => p.kill('SIGTERM').catch(() => crashed.add(p))));
  await producer.disconnect();
  if (!args.keep) {
    for (const schema of schemas) await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    const admin = kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  }
  await db.end();
  const result = {
    bench: 'hostile',
    messages: messages.length,
    valid_records: expectedValid,
    counted_exact: countedExact,
    dead_letters: deadLetters,
    dead_letters_expected: deadLettersExpected,
    quarantined,
    stalled_partitions: stalled,
    crashes: crashed.size,
    sdk_invalid_skipped: sdkInvalid,
    sdk_invalid_expected: sdkExpected,
    sdk_reached_end: sdkReachedEnd,
  };
  const ok = result.counted_exact && result.dead_letters + result.quarantined === result.dead_letters_expected && result.stalled_partitions === 0 && result.crashes === 0 && sdkReachedEnd && sdkInvalid === sdkExpected && sdkLayout !== null;
  console.log(ok ? 'every consumer survived every message' : 'FAILED: see the table above');
  console.log(JSON.stringify(result));
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
