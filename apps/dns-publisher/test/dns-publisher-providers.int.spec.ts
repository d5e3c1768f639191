import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Producer } from 'kafkajs';
import { Client } from 'pg';
import { CAPACITY_PLAN, CapacityPlan, contractTopicSpecs, SHARD_ASSIGNED, SHARD_HEALTH, ShardAssigned, Topics } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { eventually, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';
import { dig } from './dig';

jest.setTimeout(120_000);

/** Client subnets of the shipped map (data/client-subnets/ipv4.csv): a UK network, a North American one. */
const EUROPE = '81.2.69.0/24';
const AMERICA = '24.0.0.0/24';
/** The map's eu-west-1 client subnets, as a resolver would send them (the first /24 of each): a capacity split divides these. */
const EU_WEST_CLIENTS = ['25.0.0.0/8', '31.64.0.0/10', '51.0.0.0/10', '77.64.0.0/10', '79.64.0.0/10', '81.64.0.0/10', '81.128.0.0/10', '82.0.0.0/10', '86.0.0.0/10', '86.128.0.0/10', '87.64.0.0/10', '90.192.0.0/10', '92.0.0.0/10', '94.0.0.0/10', '109.128.0.0/10', '178.64.0.0/10', '212.128.0.0/10', '217.128.0.0/10'].map(
  (cidr) => `${cidr.split('/')[0]}/24`,
);

const env = stackEnv();
const pdns = (path: string, init: RequestInit = {}) => fetch(`${env.PDNS_API_URL}/api/v1/servers/localhost${path}`, { ...init, headers: { 'X-API-Key': env.PDNS_API_KEY, 'content-type': 'application/json' } });

interface ProviderUnderTest {
  name: 'powerdns' | 'knot';
  port: string;
  /** Adds a record dns-publisher did not create (the operator's), as the server's own users would. */
  addForeign(zone: string, name: string, ip: string): Promise<void>;
  removeZone(zone: string): Promise<void>;
  zoneExists(zone: string): Promise<boolean>;
  /** Drift behind dns-publisher's back: PowerDNS loses one record; Knot loses the whole zone. */
  drift(zone: string, name: string): Promise<void>;
}

const PROVIDERS: ProviderUnderTest[] = [
  {
    name: 'powerdns',
    port: env.PDNS_DNS_PORT,
    addForeign: async (zone, name, ip) => {
      const body = { rrsets: [{ name: `${name}.`, type: 'A', ttl: 300, changetype: 'REPLACE', records: [{ content: ip, disabled: false }] }] };
      const res = await pdns(`/zones/${zone}.`, { method: 'PATCH', body: JSON.stringify(body) });
      if (res.status !== 204) throw new Error(`PATCH: ${res.status}`);
    },
    removeZone: async (zone) => void (await pdns(`/zones/${zone}.`, { method: 'DELETE' })),
    zoneExists: async (zone) => (await pdns(`/zones/${zone}.?rrsets=false`)).ok,
    drift: async (zone, name) => {
      const res = await pdns(`/zones/${zone}.`, { method: 'PATCH', body: JSON.stringify({ rrsets: [{ name: `${name}.`, type: 'A', changetype: 'DELETE' }] }) });
      if (res.status !== 204) throw new Error(`PATCH: ${res.status}`);
    },
  },
  {
    name: 'knot',
    port: env.KNOT_DNS_PORT,
    // The operator's file the zone includes; served from the provider's next write.
    addForeign: async (zone, name, ip) => appendFileSync(join(env.KNOT_DIR, 'zones', `${zone}.local.zone`), `${name}. 300 A ${ip}\n`),
    removeZone: async (zone) => {
      const conf = join(env.KNOT_DIR, 'zones.d', `${zone}.conf`);
      if (!existsSync(conf)) return;
      rmSync(conf);
      await promisify(execFile)('knotc', ['-s', env.KNOT_CONTROL_SOCKET, 'reload']);
      for (const suffix of ['.zone', '.geoip.yaml', '.shardcast.json', '.local.zone']) rmSync(join(env.KNOT_DIR, 'zones', `${zone}${suffix}`), { force: true });
    },
    zoneExists: async (zone) => existsSync(join(env.KNOT_DIR, 'zones.d', `${zone}.conf`)),
    drift: async (zone) => {
      rmSync(join(env.KNOT_DIR, 'zones.d', `${zone}.conf`));
      await promisify(execFile)('knotc', ['-s', env.KNOT_CONTROL_SOCKET, 'reload']);
    },
  },
];

/**
 * dns-publisher on each real server of the local stack: layouts in → geo answers by client
 * subnet (dig with ECS), failover on shard.health, foreign records left alone, a restart changes
 * nothing, a release and a tombstone take the records away.
 */
describe.each(PROVIDERS)('dns-publisher on $name', (provider) => {
  const prefix = `${uniqueName('dnsp')}.`;
  const schema = uniqueName('dns_publisher_pdns');
  const kafka = createKafka(env.KAFKA_BROKERS.split(','), 'dns-publisher-pdns-test');
  const db = new Client({ connectionString: env.DATABASE_URL });
  const domain = `d${randomBytes(4).toString('hex')}.shardcast-test.example`;
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
      DNS_PROVIDER: provider.name,
      DNS_RESYNC_INTERVAL_MS: '1000',
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
  /** A capacity plan as the allocator publishes it: per serving region, the demand it serves by origin. */
  const capacityPlan = (planVersion: number, d: string, served: Array<[region: string, ip: string, byOrigin: Record<string, number>]>): CapacityPlan => ({
    domain: d,
    tier: 'pro',
    version: planVersion,
    planId: `p${planVersion}`,
    validFrom: new Date().toISOString(),
    validUntil: new Date(Date.now() + 3_600_000).toISOString(),
    regions: served.map(([region, ip, byOrigin]) => {
      const rate = Object.values(byOrigin).reduce((a, b) => a + b, 0);
      return {
        region,
        reason: 'proactive' as const,
        quantile: 'p90' as const,
        reserved: { cpuCores: rate / 100, memoryGiB: rate / 200, egressMbps: rate / 10 },
        requestsPerSecond: rate,
        shortRequestsPerSecond: 0,
        poolHeadroom: { cpuCores: 1, memoryGiB: 1, egressMbps: 1 },
        endpoints: { ipv4: [ip], ipv6: [] },
        servedByOrigin: Object.entries(byOrigin).map(([origin, requestsPerSecond]) => ({ origin, requestsPerSecond, forecastEventId: null })),
        schedule: [],
      };
    }),
    shortByOrigin: [],
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
    await provider.removeZone(domain).catch(() => undefined);
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('answers a European client the EU shard and a North American client the US shard; shard names resolve to their endpoints', async () => {
    await send(Topics.shardAssigned, envelope(SHARD_ASSIGNED, layout([['us-east-1', '192.0.2.1', 'active'], ['eu-west-1', '192.0.2.2', 'active']])));
    await eventually(() => dig(provider.port, domain, 'A', EUROPE), (a) => a.length > 0, 30_000, 200);
    expect(await dig(provider.port, domain, 'A', EUROPE)).toEqual(['192.0.2.2']);
    expect(await dig(provider.port, domain, 'A', AMERICA)).toEqual(['192.0.2.1']);
    expect(await dig(provider.port, `eu-west-1.${domain}`, 'A')).toEqual(['192.0.2.2']);
    const answer = (await (await fetch(`${base}/v1/domains/${domain}/answer?subnet=${encodeURIComponent(EUROPE)}`, { headers: { 'x-api-key': 'k' } })).json()) as Record<string, unknown>;
    expect(answer).toMatchObject({ clientRegion: expect.stringMatching(/^eu-/), answered: `eu-west-1.${domain}`, reason: 'closest-healthy', order: [`eu-west-1.${domain}`, `us-east-1.${domain}`] });
  });

  it('a shard.health event marking the EU shard down sends European clients to the next closest', async () => {
    await send(Topics.shardHealth, envelope(SHARD_HEALTH, { domain, region: 'eu-west-1', hostname: `eu-west-1.${domain}`, windowStart: new Date().toISOString(), windowSeconds: 60, status: 'down', requestsPerSecond: 0, errorRate: 1, latencyMs: { p50: 0, p99: 0 }, utilisation: null }));
    await eventually(() => dig(provider.port, domain, 'A', EUROPE), (a) => a[0] === '192.0.2.1', 30_000, 200);
    const answer = (await (await fetch(`${base}/v1/domains/${domain}/answer?subnet=${encodeURIComponent(EUROPE)}`, { headers: { 'x-api-key': 'k' } })).json()) as Record<string, unknown>;
    expect(answer).toMatchObject({ answered: `us-east-1.${domain}`, reason: 'failover' });
  });

  it('a resync repairs drift on the server: a record lost behind its back comes back', async () => {
    expect(await dig(provider.port, `us-east-1.${domain}`, 'A')).toEqual(['192.0.2.1']);
    // The gap itself is not polled for: a resync every second can close it between two digs. The
    // repair is seen instead in the audit, as a change no event caused, made after the drift.
    const repairs = async () => Number((await db.query(`SELECT count(*)::int AS n FROM "${schema}".audit WHERE zone = $1 AND event_id IS NULL`, [domain])).rows[0].n);
    const before = await repairs();
    await provider.drift(domain, `us-east-1.${domain}`);
    await eventually(repairs, (n) => n > before, 30_000, 100);
    await eventually(() => dig(provider.port, `us-east-1.${domain}`, 'A'), (a) => a[0] === '192.0.2.1', 30_000, 200);
    expect(await dig(provider.port, domain, 'A', EUROPE)).toEqual(['192.0.2.1']);
  });

  it('leaves a record it did not create alone, and a restart re-reads its state and changes nothing', async () => {
    await provider.addForeign(domain, `mail.${domain}`, '198.51.100.7');
    await send(Topics.shardAssigned, envelope(SHARD_ASSIGNED, layout([['us-east-1', '192.0.2.1', 'active'], ['eu-west-1', '192.0.2.2', 'active'], ['ap-south-1', '192.0.2.3', 'active']])));
    await eventually(() => dig(provider.port, `ap-south-1.${domain}`, 'A'), (a) => a.length > 0, 30_000, 200);
    expect(await dig(provider.port, `mail.${domain}`, 'A')).toEqual(['198.51.100.7']);
    expect(await dig(provider.port, domain, 'A', EUROPE)).toEqual(['192.0.2.1']); // still failed over: health is held across layouts
    const before = await audit();
    await service.kill('SIGTERM');
    await start();
    const plan = (await (await fetch(`${base}/v1/domains/${domain}/plan`, { headers: { 'x-api-key': 'k' } })).json()) as { changes: unknown[] };
    expect(plan.changes).toEqual([]);
    expect(await audit()).toBe(before);
  });

  it('a release deletes its records; a tombstone leaves the zone it made while a foreign record is in it', async () => {
    await send(Topics.shardAssigned, envelope(SHARD_ASSIGNED, layout([])));
    await eventually(() => dig(provider.port, `us-east-1.${domain}`, 'A'), (a) => a.length === 0, 30_000, 200);
    expect(await dig(provider.port, domain, 'A', EUROPE)).toEqual([]);
    await send(Topics.shardAssigned, null);
    await eventually(async () => Number((await db.query(`SELECT count(*)::int AS n FROM "${schema}".layouts WHERE domain = $1`, [domain])).rows[0].n), (n) => n === 0, 30_000, 200);
    expect(await dig(provider.port, `mail.${domain}`, 'A')).toEqual(['198.51.100.7']);
    const actions = (await db.query(`SELECT action, key FROM "${schema}".audit WHERE zone = $1 ORDER BY id`, [domain])).rows.map((r) => `${r.action} ${r.key}`);
    expect(actions.filter((a) => a.includes('mail.'))).toEqual([]);
  });

  it('a tombstone deletes the zone it made when nothing foreign is in it', async () => {
    const other = `o${randomBytes(4).toString('hex')}.shardcast-test.example`;
    const l = { ...layout([['us-east-1', '192.0.2.1', 'active']]), domain: other, shards: [{ region: 'us-east-1', hostname: `us-east-1.${other}`, state: 'active' as const, weight: 100, endpoints: { ipv4: ['192.0.2.1'], ipv6: [] } }] };
    await producer.send({ topic: `${prefix}${Topics.shardAssigned}`, messages: [{ key: other, value: JSON.stringify(envelope(SHARD_ASSIGNED, l)) }] });
    // Asked before its zone exists, PowerDNS would cache the refusal for its query-cache TTL (20 s).
    await eventually(() => provider.zoneExists(other), (e) => e, 30_000, 50);
    await eventually(() => dig(provider.port, `us-east-1.${other}`, 'A'), (a) => a.length > 0, 30_000, 200);
    expect(await provider.zoneExists(other)).toBe(true);
    await producer.send({ topic: `${prefix}${Topics.shardAssigned}`, messages: [{ key: other, value: null }] });
    await eventually(() => provider.zoneExists(other), (exists) => !exists, 30_000, 200);
  });

  it('capacity plans split a client region between shards (the API and the server agree per subnet), then bring it back', async () => {
    const c = `c${randomBytes(4).toString('hex')}.shardcast-test.example`;
    const sendFor = (topic: string, type: string, payload: unknown) => producer.send({ topic: `${prefix}${topic}`, messages: [{ key: c, value: JSON.stringify(envelope(type, payload)) }] });
    const shards: Array<[string, string]> = [['us-east-1', '192.0.2.1'], ['eu-west-1', '192.0.2.2'], ['eu-central-1', '192.0.2.4']];
    await sendFor(Topics.shardAssigned, SHARD_ASSIGNED, { ...layout([]), domain: c, version: 1, shards: shards.map(([region, ip]) => ({ region, hostname: `${region}.${c}`, state: 'active', weight: 100, endpoints: { ipv4: [ip], ipv6: [] } })) });
    await eventually(() => provider.zoneExists(c), (e) => e, 30_000, 50);
    const answerOf = async (subnet: string) => (await (await fetch(`${base}/v1/domains/${c}/answer?subnet=${encodeURIComponent(subnet)}`, { headers: { 'x-api-key': 'k' } })).json()) as { answered: string; reason: string; split: { parts: Array<{ hostname: string; target: number; share: number }> } | null };
    await eventually(() => dig(provider.port, c, 'A', EU_WEST_CLIENTS[0]), (a) => a[0] === '192.0.2.2', 30_000, 200);

    // Ahead of a peak the allocator serves 40 % of eu-west-1's demand in eu-central-1.
    await sendFor(Topics.capacityPlan, CAPACITY_PLAN, capacityPlan(1, c, [['eu-west-1', '192.0.2.2', { 'eu-west-1': 60 }], ['eu-central-1', '192.0.2.4', { 'eu-west-1': 40 }]]));
    await eventually(() => answerOf(EU_WEST_CLIENTS[0]), (a) => a.split !== null, 30_000, 200);
    const answered = new Map<string, string>();
    for (const subnet of EU_WEST_CLIENTS) {
      const a = await answerOf(subnet);
      expect(a.reason).toBe('capacity-split');
      answered.set(subnet, a.answered);
    }
    const split = (await answerOf(EU_WEST_CLIENTS[0])).split!;
    expect(split.parts.map((p) => [p.hostname, p.target])).toEqual([[`eu-west-1.${c}`, 0.6], [`eu-central-1.${c}`, 0.4]]);
    const spilled = [...answered].filter(([, h]) => h === `eu-central-1.${c}`).map(([subnet]) => subnet);
    const home = [...answered].filter(([, h]) => h === `eu-west-1.${c}`).map(([subnet]) => subnet);
    expect(spilled.length).toBeGreaterThan(0);
    expect(home.length).toBeGreaterThan(0);
    // The server answers each subnet as the API says.
    await eventually(() => dig(provider.port, c, 'A', spilled[0]), (a) => a[0] === '192.0.2.4', 30_000, 200);
    for (const subnet of spilled) expect(await dig(provider.port, c, 'A', subnet)).toEqual(['192.0.2.4']);
    for (const subnet of home) expect(await dig(provider.port, c, 'A', subnet)).toEqual(['192.0.2.2']);
    // Other regions' clients are untouched.
    expect(await dig(provider.port, c, 'A', AMERICA)).toEqual(['192.0.2.1']);
    const plan = (await (await fetch(`${base}/v1/domains/${c}/plan`, { headers: { 'x-api-key': 'k' } })).json()) as { changes: unknown[] };
    expect(plan.changes).toEqual([]);

    // After the peak the next plan serves eu-west-1 at home again.
    await sendFor(Topics.capacityPlan, CAPACITY_PLAN, capacityPlan(2, c, [['eu-west-1', '192.0.2.2', { 'eu-west-1': 100 }]]));
    await eventually(() => dig(provider.port, c, 'A', spilled[0]), (a) => a[0] === '192.0.2.2', 30_000, 200);
    for (const subnet of EU_WEST_CLIENTS) expect(await dig(provider.port, c, 'A', subnet)).toEqual(['192.0.2.2']);
    expect((await answerOf(spilled[0])).reason).toBe('closest-healthy');
    await sendFor(Topics.shardAssigned, SHARD_ASSIGNED, { ...layout([]), domain: c, version: 2 });
    await eventually(() => dig(provider.port, `eu-west-1.${c}`, 'A'), (a) => a.length === 0, 30_000, 200);
    await provider.removeZone(c).catch(() => undefined);
  });
});
