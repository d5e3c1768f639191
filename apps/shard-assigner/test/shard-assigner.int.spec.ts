import { Kafka, Producer } from 'kafkajs';
import Redis from 'ioredis';
import { Client } from 'pg';
import { CapacityPlanEvent, contractTopicSpecs, deadLetterTopic, ShardAssigned, ShardAssignedEvent, ShardAssignedEventSchema, Topics } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { ShardClient } from '@shardcast/shard-client';
import { eventually, readDeadLetters, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';
import { resolve } from 'node:path';
import { planEvent } from './plan-events';

jest.setTimeout(120_000);

const API_KEY = 'assigner-key-1';
const WARMUP_MS = 1_500;

/** One message of shard.assigned.v1 as read: a layout event, or a tombstone (value null). */
interface Published {
  key: string;
  event: ShardAssignedEvent | null;
}

describe('shard-assigner service on the real stack', () => {
  const env = stackEnv();
  const prefix = `${uniqueName('sa')}.`;
  const schema = uniqueName('shard_assigner_int');
  const redisPrefix = `${uniqueName('sa-int')}:`;
  const kafka: Kafka = createKafka(env.KAFKA_BROKERS.split(','), 'shard-assigner-int-test');
  const db = new Client({ connectionString: env.DATABASE_URL });
  const redis = new Redis(env.REDIS_URL);
  const published: Published[] = [];
  const reader = kafka.consumer({ groupId: uniqueName('layout-reader') });
  let producer: Producer;
  let service: ServiceProcess;
  let base: string;
  let client: ShardClient;

  const serviceEnv = () => ({
    ...env,
    HTTP_PORT: '0',
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_GROUP_PREFIX: `${prefix}g`,
    SHARD_ASSIGNER_DB_SCHEMA: schema,
    SHARD_ASSIGNER_REDIS_KEY_PREFIX: redisPrefix,
    SHARD_ASSIGNER_API_KEYS: API_KEY,
    SHARD_ASSIGNER_WARMUP_MS: String(WARMUP_MS),
    SHARD_ASSIGNER_DRAIN_MS: '2000',
    SHARD_ASSIGNER_TICK_INTERVAL_MS: '250',
    SHARD_ASSIGNER_REGION_SLUGS: 'us-east-1=us-east,eu-west-1=eu-west',
  });
  const startService = async () => {
    service = new ServiceProcess(resolve(__dirname, '../dist/src/main.js'), serviceEnv()).start();
    base = `http://127.0.0.1:${(await service.waitForMessage('shard-assigner ready')).port}`;
  };
  const sendPlan = (e: CapacityPlanEvent) => producer.send({ topic: `${prefix}${Topics.capacityPlan}`, messages: [{ key: e.payload.domain, value: JSON.stringify(e) }] });
  const layouts = (domain: string) => published.filter((p) => p.key === domain && p.event).map((p) => p.event!.payload);
  const layoutWhere = (domain: string, match: (l: ShardAssigned) => boolean) =>
    eventually(async () => layouts(domain).find(match), (l) => l !== undefined, 30_000, 50).then((l) => l!);
  const api = (path: string, key = API_KEY) => fetch(`${base}${path}`, { headers: { 'x-api-key': key } });

  beforeAll(async () => {
    await db.connect();
    await ensureTopics(kafka, contractTopicSpecs(), 3, prefix);
    await reader.connect();
    await reader.subscribe({ topic: `${prefix}${Topics.shardAssigned}`, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) =>
        void published.push({ key: message.key!.toString(), event: message.value === null ? null : (ShardAssignedEventSchema.parse(JSON.parse(message.value.toString())) as ShardAssignedEvent) }),
    });
    producer = kafka.producer();
    await producer.connect();
    client = await ShardClient.start({ kafka, topic: `${prefix}${Topics.shardAssigned}` });
    await startService();
  });

  afterAll(async () => {
    await client?.close();
    await reader.disconnect();
    await producer?.disconnect();
    await service?.kill('SIGTERM');
    const keys = await redis.keys(`${redisPrefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('a capacity plan → shard.assigned.v1: warming shards with their names and endpoints, active after the warm-up, with causation', async () => {
    const domain = 'shop.example.com';
    const plan = planEvent(domain, 1, { 'us-east-1': 600, 'eu-west-1': 400 });
    await sendPlan(plan);
    const first = await layoutWhere(domain, (l) => l.version === 1);
    expect(first.shards.map((s) => [s.hostname, s.state, s.weight, s.endpoints.ipv4])).toEqual([
      ['eu-west.shop.example.com', 'warming', 400, ['192.0.2.9']],
      ['us-east.shop.example.com', 'warming', 600, ['192.0.2.9']],
    ]);
    expect(first.source).toEqual({ planId: plan.payload.planId, planVersion: 1 });
    const event = published.find((p) => p.event?.payload === first)!.event!;
    expect(event).toMatchObject({ causationId: plan.eventId, correlationId: plan.correlationId, producedBy: 'shard-assigner' });
    // The tick makes them active once warm: keys move onto them (nothing to move from).
    const active = await layoutWhere(domain, (l) => l.shards.length > 0 && l.shards.every((s) => s.state === 'active'));
    expect(active.version).toBe(2);
    expect(active.pendingMovement).toBeNull();
    expect(first.pendingMovement).toMatchObject({ fromVersion: 1, moved: 0 }); // from no active shard, nothing moves
  });

  it('the HTTP API serves the latest layout and routes keys exactly as the client SDK does; bad requests get 4xx with codes', async () => {
    const domain = 'shop.example.com';
    await client.ready;
    const layout = (await (await api(`/v1/domains/${domain}/shards`)).json()) as ShardAssigned;
    expect(layout.version).toBe(Math.max(...layouts(domain).map((l) => l.version)));
    await eventually(async () => client.layout(domain)?.version, (v) => v === layout.version, 30_000, 50);
    for (const key of ['user-1', 'tenant-42', 'session-Ω', 'k'.repeat(1024)]) {
      const answer = (await (await api(`/v1/domains/${domain}/route?key=${encodeURIComponent(key)}`)).json()) as { hostname: string; version: number };
      expect(answer.version).toBe(layout.version);
      expect(answer.hostname).toBe(client.shardFor(domain, key)!.hostname);
    }
    const codes = async (path: string, key?: string) => {
      const r = await api(path, key);
      return [r.status, ((await r.json()) as { code: string }).code];
    };
    expect(await codes(`/v1/domains/${domain}/shards`, 'wrong')).toEqual([401, 'UNAUTHORIZED']);
    expect(await codes(`/v1/domains/not_a..domain/shards`)).toEqual([400, 'REQUEST_INVALID']);
    expect(await codes(`/v1/domains/${domain}/route`)).toEqual([400, 'REQUEST_INVALID']);
    expect(await codes(`/v1/domains/${domain}/route?key=${'k'.repeat(1025)}`)).toEqual([400, 'REQUEST_INVALID']);
    expect(await codes(`/v1/domains/${domain}/route?key=a&key=b`)).toEqual([400, 'REQUEST_INVALID']);
    expect(await codes(`/v1/domains/never.example.com/shards`)).toEqual([404, 'NOT_FOUND']);
  });

  it('a new region: announced warming with its pending movement, then active; the SDK follows and keys move as announced', async () => {
    const domain = 'grow.example.com';
    await sendPlan(planEvent(domain, 1, { 'us-east-1': 800 }));
    const before = await layoutWhere(domain, (l) => l.shards.some((s) => s.state === 'active'));
    await eventually(async () => client.layout(domain)?.version, (v) => v === before.version, 30_000, 50);
    const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const routeBefore = keys.map((k) => client.shardFor(domain, k)!.hostname);
    expect(new Set(routeBefore)).toEqual(new Set(['us-east.grow.example.com']));

    await sendPlan(planEvent(domain, 2, { 'us-east-1': 800, 'ap-south-1': 200 }));
    const announced = await layoutWhere(domain, (l) => l.shards.some((s) => s.region === 'ap-south-1'));
    expect(announced.shards.find((s) => s.region === 'ap-south-1')!.state).toBe('warming');
    expect(announced.movement.moved).toBe(0);
    expect(announced.pendingMovement!.moved).toBeGreaterThan(0.15);
    expect(announced.pendingMovement!.moved).toBeLessThan(0.25);
    const joined = await layoutWhere(domain, (l) => l.shards.find((s) => s.region === 'ap-south-1')?.state === 'active');
    expect(joined.movement).toEqual({ ...announced.pendingMovement, fromVersion: announced.version });
    await eventually(async () => client.layout(domain)?.version, (v) => v === joined.version, 30_000, 50);
    const moved = keys.filter((k, i) => client.shardFor(domain, k)!.hostname !== routeBefore[i]).length / keys.length;
    expect(Math.abs(moved - joined.movement.moved)).toBeLessThan(0.04);
  });

  it('a release publishes an empty layout, then a tombstone; the API answers 404 and the SDK forgets the domain', async () => {
    const domain = 'gone.example.com';
    await sendPlan(planEvent(domain, 1, { 'eu-west-1': 100 }));
    const held = await layoutWhere(domain, (l) => l.version === 1);
    await sendPlan(planEvent(domain, 2, {}));
    const empty = await layoutWhere(domain, (l) => l.shards.length === 0);
    expect(empty).toMatchObject({ version: held.version + 1, source: null });
    await eventually(async () => published.filter((p) => p.key === domain).at(-1), (p) => p?.event === null, 30_000, 50);
    expect(published.filter((p) => p.key === domain).map((p) => p.event?.payload.version ?? 'tombstone')).toEqual([1, 2, 'tombstone']);
    expect((await api(`/v1/domains/${domain}/shards`)).status).toBe(404);
    await eventually(async () => client.layout(domain), (l) => l === null, 30_000, 50);
  });

  it('an invalid plan is dead-lettered with its reason; the partition goes on', async () => {
    const domain = 'after-bad.example.com';
    const bad = planEvent(domain, 1, { 'us-east-1': 100 });
    const broken = { ...bad, payload: { ...bad.payload, validUntil: bad.payload.validFrom } };
    await producer.send({ topic: `${prefix}${Topics.capacityPlan}`, messages: [{ key: domain, value: JSON.stringify(broken) }] });
    await sendPlan(planEvent(domain, 2, { 'us-east-1': 100 }));
    await layoutWhere(domain, (l) => l.source?.planVersion === 2);
    const letters = await eventually(() => readDeadLetters(env.KAFKA_BROKERS, `${prefix}${deadLetterTopic(Topics.capacityPlan)}`), (l) => l.length > 0, 30_000, 200);
    expect(letters.map((l) => l.code)).toEqual(['EVENT_INVALID']);
  });

  it('Redis and PostgreSQL agree after a restart, and after Redis is flushed (rebuilt from PostgreSQL)', async () => {
    const latest = async () =>
      new Map((await db.query(`SELECT DISTINCT ON (domain) domain, version FROM "${schema}".layout_history ORDER BY domain, version DESC`)).rows.map((r) => [r.domain as string, Number(r.version)]));
    const cached = async (domains: Iterable<string>) => new Map(await Promise.all([...domains].map(async (d) => [d, Number(await redis.hget(`${redisPrefix}layout:${d}`, 'version'))] as const)));
    const inPg = await latest();
    expect(inPg.size).toBeGreaterThanOrEqual(4);
    expect(await cached(inPg.keys())).toEqual(inPg);

    await service.kill('SIGTERM');
    const keys = await redis.keys(`${redisPrefix}*`);
    await redis.del(...keys);
    await startService();
    expect(await cached(inPg.keys())).toEqual(await latest());
    // And the layouts themselves, byte for byte what PostgreSQL holds.
    for (const domain of inPg.keys()) {
      const [row] = (await db.query(`SELECT layout FROM "${schema}".layout_history WHERE domain = $1 ORDER BY version DESC LIMIT 1`, [domain])).rows;
      expect(JSON.parse((await redis.hget(`${redisPrefix}layout:${domain}`, 'layout'))!)).toEqual(row.layout);
    }
  });
});
