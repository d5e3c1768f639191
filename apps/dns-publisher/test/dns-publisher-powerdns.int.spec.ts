import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Producer } from 'kafkajs';
import { Client } from 'pg';
import { contractTopicSpecs, SHARD_ASSIGNED, SHARD_HEALTH, ShardAssigned, Topics } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { eventually, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';
import { dig } from './dig';

jest.setTimeout(120_000);

/** Client subnets of the shipped map (data/client-subnets/ipv4.csv): a UK network, a North American one. */
const EUROPE = '81.2.69.0/24';
const AMERICA = '24.0.0.0/24';

/**
 * dns-publisher on the real PowerDNS of the local stack: layouts in → geo answers by client
 * subnet (dig with ECS), failover on shard.health, foreign records left alone, a restart changes
 * nothing, a release and a tombstone take the records away.
 */
describe('dns-publisher on PowerDNS', () => {
  const env = stackEnv();
  const prefix = `${uniqueName('dnsp')}.`;
  const schema = uniqueName('dns_publisher_pdns');
  const kafka = createKafka(env.KAFKA_BROKERS.split(','), 'dns-publisher-pdns-test');
  const db = new Client({ connectionString: env.DATABASE_URL });
  const domain = `d${randomBytes(4).toString('hex')}.shardcast-test.example`;
  const pdns = (path: string, init: RequestInit = {}) => fetch(`${env.PDNS_API_URL}/api/v1/servers/localhost${path}`, { ...init, headers: { 'X-API-Key': env.PDNS_API_KEY, 'content-type': 'application/json' } });
  let producer: Producer;
  let service: ServiceProcess;
  let base: string;
  let version = 0;

  const start = async () => {
    service = new ServiceProcess(resolve(__dirname, '../dist/src/main.js'), {
      ...env,
      HTTP_PORT: '0',
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_PREFIX: `${prefix}g`,
      DNS_PUBLISHER_DB_SCHEMA: schema,
      DNS_PUBLISHER_API_KEYS: 'k',
      DNS_PROVIDER: 'powerdns',
      PDNS_API_URL: env.PDNS_API_URL,
      PDNS_API_KEY: env.PDNS_API_KEY,
    }).start();
    base = `http://127.0.0.1:${(await service.waitForMessage('dns-publisher ready')).port}`;
  };
  const send = (topic: string, value: unknown) => producer.send({ topic: `${prefix}${topic}`, messages: [{ key: domain, value: value === null ? null : JSON.stringify(value) }] });
  const envelope = (type: string, payload: unknown) => ({ eventId: uniqueName('ev'), type, occurredAt: new Date().toISOString(), producedBy: 'test', correlationId: 'c', causationId: null, payload });
  const layout = (shards: Array<[string, string, ShardAssigned['shards'][number]['state']]>): ShardAssigned => ({
    domain,
    version: ++version,
    shards: shards.map(([region, ip, state]) => ({ region, hostname: `${region}.${domain}`, state, weight: 100, endpoints: { ipv4: [ip], ipv6: [] } })),
    ring: { algorithm: 'bounded-rendezvous-table-xxh32', seed: 1, tableBits: 16, loadBoundPermille: 50 },
    movement: { fromVersion: null, moved: 0, exact: true, flows: [] },
    pendingMovement: null,
    source: null,
  });
  const audit = async () => Number((await db.query(`SELECT count(*)::int AS n FROM "${schema}".audit WHERE zone = $1`, [domain])).rows[0].n);

  beforeAll(async () => {
    await db.connect();
    await ensureTopics(kafka, contractTopicSpecs(), 2, prefix);
    producer = kafka.producer();
    await producer.connect();
    await start();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await service?.kill('SIGTERM');
    await pdns(`/zones/${domain}.`, { method: 'DELETE' }).catch(() => undefined);
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('answers a European client the EU shard and a North American client the US shard; shard names resolve to their endpoints', async () => {
    await send(Topics.shardAssigned, envelope(SHARD_ASSIGNED, layout([['us-east-1', '192.0.2.1', 'active'], ['eu-west-1', '192.0.2.2', 'active']])));
    await eventually(() => dig(env.PDNS_DNS_PORT, domain, 'A', EUROPE), (a) => a.length > 0, 30_000, 200);
    expect(await dig(env.PDNS_DNS_PORT, domain, 'A', EUROPE)).toEqual(['192.0.2.2']);
    expect(await dig(env.PDNS_DNS_PORT, domain, 'A', AMERICA)).toEqual(['192.0.2.1']);
    expect(await dig(env.PDNS_DNS_PORT, `eu-west-1.${domain}`, 'A')).toEqual(['192.0.2.2']);
    const answer = (await (await fetch(`${base}/v1/domains/${domain}/answer?subnet=${encodeURIComponent(EUROPE)}`, { headers: { 'x-api-key': 'k' } })).json()) as Record<string, unknown>;
    expect(answer).toMatchObject({ clientRegion: expect.stringMatching(/^eu-/), answered: `eu-west-1.${domain}`, reason: 'closest-healthy', order: [`eu-west-1.${domain}`, `us-east-1.${domain}`] });
  });

  it('a shard.health event marking the EU shard down sends European clients to the next closest', async () => {
    await send(Topics.shardHealth, envelope(SHARD_HEALTH, { domain, region: 'eu-west-1', hostname: `eu-west-1.${domain}`, windowStart: new Date().toISOString(), windowSeconds: 60, status: 'down', requestsPerSecond: 0, errorRate: 1, latencyMs: { p50: 0, p99: 0 }, utilisation: null }));
    await eventually(() => dig(env.PDNS_DNS_PORT, domain, 'A', EUROPE), (a) => a[0] === '192.0.2.1', 30_000, 200);
    const answer = (await (await fetch(`${base}/v1/domains/${domain}/answer?subnet=${encodeURIComponent(EUROPE)}`, { headers: { 'x-api-key': 'k' } })).json()) as Record<string, unknown>;
    expect(answer).toMatchObject({ answered: `us-east-1.${domain}`, reason: 'failover' });
  });

  it('leaves a record it did not create alone, and a restart re-reads its state and changes nothing', async () => {
    const foreign = { rrsets: [{ name: `mail.${domain}.`, type: 'A', ttl: 300, changetype: 'REPLACE', records: [{ content: '198.51.100.7', disabled: false }] }] };
    expect((await pdns(`/zones/${domain}.`, { method: 'PATCH', body: JSON.stringify(foreign) })).status).toBe(204);
    await send(Topics.shardAssigned, envelope(SHARD_ASSIGNED, layout([['us-east-1', '192.0.2.1', 'active'], ['eu-west-1', '192.0.2.2', 'active'], ['ap-south-1', '192.0.2.3', 'active']])));
    await eventually(() => dig(env.PDNS_DNS_PORT, `ap-south-1.${domain}`, 'A'), (a) => a.length > 0, 30_000, 200);
    expect(await dig(env.PDNS_DNS_PORT, `mail.${domain}`, 'A')).toEqual(['198.51.100.7']);
    const before = await audit();
    await service.kill('SIGTERM');
    await start();
    const plan = (await (await fetch(`${base}/v1/domains/${domain}/plan`, { headers: { 'x-api-key': 'k' } })).json()) as { changes: unknown[] };
    expect(plan.changes).toEqual([]);
    expect(await audit()).toBe(before);
  });

  it('a release deletes its records; a tombstone leaves the zone it made while a foreign record is in it', async () => {
    await send(Topics.shardAssigned, envelope(SHARD_ASSIGNED, layout([])));
    await eventually(() => dig(env.PDNS_DNS_PORT, `us-east-1.${domain}`, 'A'), (a) => a.length === 0, 30_000, 200);
    expect(await dig(env.PDNS_DNS_PORT, domain, 'A', EUROPE)).toEqual([]);
    await send(Topics.shardAssigned, null);
    await eventually(async () => Number((await db.query(`SELECT count(*)::int AS n FROM "${schema}".layouts WHERE domain = $1`, [domain])).rows[0].n), (n) => n === 0, 30_000, 200);
    expect(await dig(env.PDNS_DNS_PORT, `mail.${domain}`, 'A')).toEqual(['198.51.100.7']);
    const actions = (await db.query(`SELECT action, key FROM "${schema}".audit WHERE zone = $1 ORDER BY id`, [domain])).rows.map((r) => `${r.action} ${r.key}`);
    expect(actions.filter((a) => a.includes('mail.'))).toEqual([]);
  });
});
