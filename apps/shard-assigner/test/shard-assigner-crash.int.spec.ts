import { Kafka, Producer } from 'kafkajs';
import Redis from 'ioredis';
import { Client } from 'pg';
import { contractTopicSpecs, ShardAssignedSchema, Topics } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { eventually, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';
import { resolve } from 'node:path';
import { planEvent } from './plan-events';

jest.setTimeout(240_000);

const DOMAINS = Array.from({ length: 30 }, (_, i) => `d${i}.crash.example.com`);
const PLAN_VERSIONS = 8;
/** Every plan changes the layout: a third region comes and goes, weights shift. */
const served = (version: number): Record<string, number> =>
  version % 2 === 0 ? { 'us-east-1': 500 + 10 * version, 'eu-west-1': 300, 'ap-south-1': 900 } : { 'us-east-1': 500 + 10 * version, 'eu-west-1': 300 };

/**
 * The shard-assigner SIGKILLed while it works through a stream of plans, then restarted: every
 * version of a domain is published with one content only (a re-send after the crash repeats it
 * byte for byte), versions run 1, 2, 3… with no gap or reuse, and the topic, the history in
 * PostgreSQL and the Redis cache end on the same latest version.
 */
describe('shard-assigner SIGKILLed mid-stream', () => {
  const env = stackEnv();
  const prefix = `${uniqueName('sak')}.`;
  const schema = uniqueName('shard_assigner_crash');
  const redisPrefix = `${uniqueName('sa-crash')}:`;
  const kafka: Kafka = createKafka(env.KAFKA_BROKERS.split(','), 'shard-assigner-crash-test');
  const db = new Client({ connectionString: env.DATABASE_URL });
  const redis = new Redis(env.REDIS_URL);
  const messages: Array<{ domain: string; value: string | null }> = [];
  const reader = kafka.consumer({ groupId: uniqueName('layout-reader') });
  let producer: Producer;
  const processes: ServiceProcess[] = [];
  const start = async () => {
    const p = new ServiceProcess(resolve(__dirname, '../dist/src/main.js'), {
      ...env,
      HTTP_PORT: '0',
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_PREFIX: `${prefix}g`,
      SHARD_ASSIGNER_DB_SCHEMA: schema,
      SHARD_ASSIGNER_REDIS_KEY_PREFIX: redisPrefix,
      SHARD_ASSIGNER_API_KEYS: 'k',
      SHARD_ASSIGNER_TICK_INTERVAL_MS: '200', // ticks race the plans for the same rows
    }).start();
    processes.push(p);
    const ready = await p.waitForMessage('shard-assigner ready');
    return { process: p, base: `http://127.0.0.1:${ready.port}` };
  };

  beforeAll(async () => {
    await db.connect();
    await ensureTopics(kafka, contractTopicSpecs(), 3, prefix);
    await reader.connect();
    await reader.subscribe({ topic: `${prefix}${Topics.shardAssigned}`, fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => void messages.push({ domain: message.key!.toString(), value: message.value?.toString() ?? null }) });
    producer = kafka.producer();
    await producer.connect();
  });

  afterAll(async () => {
    await reader.disconnect();
    await producer?.disconnect();
    for (const p of processes) await p.kill('SIGTERM');
    const keys = await redis.keys(`${redisPrefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('versions stay monotonic and one version never has two contents; topic, PostgreSQL and Redis agree', async () => {
    const first = await start();
    const plans = [];
    for (let v = 1; v <= PLAN_VERSIONS; v++) for (const d of DOMAINS) plans.push(planEvent(d, v, served(v)));
    await producer.send({ topic: `${prefix}${Topics.capacityPlan}`, messages: plans.map((e) => ({ key: e.payload.domain, value: JSON.stringify(e) })) });
    await eventually(async () => messages.length, (n) => n >= 60, 60_000, 20);
    await first.process.kill('SIGKILL');
    expect(messages.length).toBeLessThan(DOMAINS.length * PLAN_VERSIONS); // killed mid-stream

    const second = await start();
    const done = (d: string) => messages.some((m) => m.domain === d && m.value !== null && ShardAssignedSchema.parse(JSON.parse(m.value).payload).source?.planVersion === PLAN_VERSIONS);
    await eventually(async () => DOMAINS.filter(done).length, (n) => n === DOMAINS.length, 120_000, 200);

    for (const domain of DOMAINS) {
      const contents = new Map<number, string>();
      const firstSeen: number[] = [];
      for (const m of messages.filter((x) => x.domain === domain && x.value !== null)) {
        const payload = JSON.parse(m.value!).payload as { version: number };
        const held = contents.get(payload.version);
        if (held === undefined) {
          contents.set(payload.version, m.value!);
          firstSeen.push(payload.version);
        } else expect(m.value).toBe(held); // a re-send: the same bytes
      }
      // First appearances in order, 1, 2, 3…: nothing skipped, nothing reused.
      expect(firstSeen).toEqual(Array.from({ length: firstSeen.length }, (_, i) => i + 1));
      const history = (await db.query(`SELECT version, layout FROM "${schema}".layout_history WHERE domain = $1 ORDER BY version`, [domain])).rows;
      expect(history.map((r) => Number(r.version))).toEqual(firstSeen);
      for (const r of history) expect(JSON.parse(contents.get(Number(r.version))!).payload).toEqual(r.layout);
      expect(Number(await redis.hget(`${redisPrefix}layout:${domain}`, 'version'))).toBe(firstSeen.at(-1));
    }

    // Still warming (the default warm-up is 10 minutes): nothing to route to yet, said with a code.
    const r = await fetch(`${second.base}/v1/domains/${DOMAINS[0]}/route?key=user-1`, { headers: { 'x-api-key': 'k' } });
    expect([r.status, ((await r.json()) as { code: string }).code]).toEqual([409, 'NO_ACTIVE_SHARD']);
  });
});
