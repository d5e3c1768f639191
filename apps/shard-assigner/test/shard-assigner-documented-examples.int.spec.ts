import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { Client } from 'pg';
import { contractTopicSpecs, Topics } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { eventually, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';
import { ShardAssignerConfigSchema } from '../src/shard-assigner.config';
import { planEvent } from './plan-events';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../../..');
const DOC = readFileSync(resolve(ROOT, 'docs/shard-assigner.md'), 'utf8');
const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
/** Where the doc says the shard-assigner answers; the test's binds a free port instead. */
const DOCUMENTED_BASE = 'http://127.0.0.1:3004';

/** Every ```sh block of the doc, continued lines joined. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1].replace(/\\\n\s*/g, '').trim());
}

/** docs/shard-assigner.md's examples, run against the service as the doc starts it, once a plan for the doc's domain has arrived. */
describe('docs/shard-assigner.md: every example runs and answers what the doc says', () => {
  const env = stackEnv();
  const schema = uniqueName('shard_assigner_docs');
  const prefix = `${uniqueName('sad')}.`;
  const redisPrefix = `${uniqueName('sad')}:`;
  const kafka = createKafka(env.KAFKA_BROKERS.split(','), 'shard-assigner-docs-test');
  let service: ServiceProcess;
  let base: string;

  beforeAll(async () => {
    const start = DOC.match(/^\s*(SHARD_ASSIGNER_API_KEYS=(\S+)) npm run start:shard-assigner/m);
    expect(start).not.toBeNull();
    await ensureTopics(kafka, contractTopicSpecs(), 1, prefix);
    service = new ServiceProcess(resolve(__dirname, '../dist/src/main.js'), {
      ...env,
      HTTP_PORT: '0',
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_PREFIX: uniqueName('sad'),
      SHARD_ASSIGNER_DB_SCHEMA: schema,
      SHARD_ASSIGNER_REDIS_KEY_PREFIX: redisPrefix,
      SHARD_ASSIGNER_API_KEYS: start![2],
      SHARD_ASSIGNER_WARMUP_MS: '0', // active at the first tick: the route example needs an active shard
      SHARD_ASSIGNER_TICK_INTERVAL_MS: '200',
    }).start();
    base = `http://127.0.0.1:${(await service.waitForMessage('shard-assigner ready')).port}`;
    const producer = kafka.producer();
    await producer.connect();
    const plan = planEvent('shop.example.com', 1, { 'eu-central-1': 300, 'us-east-1': 200 });
    await producer.send({ topic: `${prefix}${Topics.capacityPlan}`, messages: [{ key: plan.payload.domain, value: JSON.stringify(plan) }] });
    await producer.disconnect();
    await eventually(
      async () => (await fetch(`${base}/v1/domains/shop.example.com/route?key=x`, { headers: { 'x-api-key': start![2] } })).status,
      (s) => s === 200,
      30_000,
      100,
    );
  });

  afterAll(async () => {
    await service?.kill('SIGTERM');
    const redis = new Redis(env.REDIS_URL);
    const keys = await redis.keys(`${redisPrefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    const db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('the API examples: the latest layout, and the route of a key', async () => {
    const blocks = shellBlocks(DOC);
    const outcomes: Array<(out: unknown) => void> = [
      (out) => expect(out).toMatchObject({ domain: 'shop.example.com', shards: expect.arrayContaining([expect.objectContaining({ hostname: 'eu-central-1.shop.example.com', state: 'active' })]), ring: { algorithm: 'bounded-rendezvous-table-xxh32' } }),
      (out) => expect(out).toMatchObject({ domain: 'shop.example.com', key: 'user-42', hostname: expect.stringMatching(/\.shop\.example\.com$/), endpoints: expect.any(Object) }),
    ];
    expect(blocks).toHaveLength(outcomes.length);
    for (const [i, block] of blocks.entries()) {
      expect(block).toContain(DOCUMENTED_BASE);
      const { stdout } = await promisify(execFile)('bash', ['-o', 'pipefail', '-c', block.replaceAll(DOCUMENTED_BASE, base)]);
      outcomes[i](JSON.parse(stdout));
    }
  });

  it('documents every SHARD_ASSIGNER_* variable the config reads, and no other', () => {
    const table = DOC.slice(DOC.indexOf('### Configuration'), DOC.indexOf('### Health'));
    const documented = new Set([...table.matchAll(/`(SHARD_ASSIGNER_[A-Z_]+)`/g)].map((m) => m[1]));
    const read = Object.keys(ShardAssignerConfigSchema.shape).filter((k) => k.startsWith('SHARD_ASSIGNER_'));
    expect([...documented].sort()).toEqual(read.sort());
    expect(README).toContain('docs/shard-assigner.md#configuration');
  });
});
