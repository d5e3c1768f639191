import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, Producer } from 'kafkajs';
import { Client } from 'pg';
import { CapacityPlanEvent, CapacityPlanEventSchema, contractTopicSpecs, DEMAND_FORECAST, DemandForecast, RequestCost, TierPolicy } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { eventually, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';

jest.setTimeout(240_000);

const COST: RequestCost = { cpuMs: 10, memoryMbPerConcurrent: 1, bytesOut: 100, latencyMs: 10 };
const CAPACITY = 20;
const DOMAINS = Array.from({ length: 24 }, (_, i) => `d${i}.race.example.com`);

function forecast(domain: string, cores: number, generatedAt: string): DemandForecast {
  const rate = (cores * 1000) / COST.cpuMs / TierPolicy.enterprise.headroom;
  const counts = new Array<number>(12).fill(Math.round(rate * 300));
  return {
    kind: 'forecast', domain, region: 'us-east-1', generatedAt, startAt: new Date(Math.floor(Date.now() / 300_000) * 300_000).toISOString(), stepSeconds: 300, steps: 12, unit: 1,
    requests: { p05: counts, p10: counts, p50: counts, p90: counts, p95: counts, p99: counts },
    model: { name: 'ets', selected: 'ets', mase: 0.5, baselineMase: 1, selectedAt: null }, confidence: 'high', forecastOnly: false, priorWeight: 0,
    tier: 'enterprise', provisionQuantile: 'p99', requestCost: COST, reason: 'moved',
  };
}

/**
 * Two allocator processes in one consumer group on one pool too small for what is asked: they
 * race on it, one is SIGKILLed mid-stream, and the ledger still adds up — the pool never past its
 * capacity, every event applied exactly once, nothing lost.
 */
describe('two allocator instances on one pool', () => {
  const env = stackEnv();
  const prefix = `${uniqueName('ali')}.`;
  const schema = uniqueName('allocator_race');
  const kafka: Kafka = createKafka(env.KAFKA_BROKERS.split(','), 'allocator-instances-test');
  const db = new Client({ connectionString: env.DATABASE_URL });
  const plans: CapacityPlanEvent[] = [];
  const planReader = kafka.consumer({ groupId: uniqueName('plan-reader') });
  let producer: Producer;
  let instanceEnv: NodeJS.ProcessEnv;
  const instances: ServiceProcess[] = [];

  const start = async () => {
    const p = new ServiceProcess(resolve(__dirname, '../dist/src/main.js'), instanceEnv).start();
    instances.push(p);
    await p.waitForMessage('allocator ready');
    return p;
  };
  const sendAll = async (cores: number) => {
    const generatedAt = new Date().toISOString();
    const events = DOMAINS.map((domain) => {
      const eventId = uniqueName('ev');
      return { eventId, type: DEMAND_FORECAST, occurredAt: generatedAt, producedBy: 'test', correlationId: eventId, causationId: null, payload: forecast(domain, cores, generatedAt) };
    });
    await producer.send({ topic: `${prefix}demand.forecast.v1`, messages: events.map((e) => ({ key: e.payload.domain, value: JSON.stringify(e) })) });
    return events.map((e) => e.eventId);
  };
  const processed = async (ids: string[]) => Number((await db.query(`SELECT count(*)::int AS n FROM "${schema}".processed_events WHERE event_id = ANY($1)`, [ids])).rows[0].n);
  const ledger = async () => {
    const [pool] = (await db.query(`SELECT committed_cpu, capacity_cpu FROM "${schema}".pools WHERE region = 'us-east-1'`)).rows;
    const rows = (await db.query(`SELECT domain, cpu FROM "${schema}".reservations`)).rows as Array<{ domain: string; cpu: number }>;
    return { committed: Number(pool.committed_cpu), capacity: Number(pool.capacity_cpu), reserved: Object.fromEntries(rows.map((r) => [r.domain, Number(r.cpu)])) };
  };

  beforeAll(async () => {
    await db.connect();
    await ensureTopics(kafka, contractTopicSpecs(), 4, prefix);
    await planReader.connect();
    await planReader.subscribe({ topic: `${prefix}capacity.plan.v1`, fromBeginning: true });
    await planReader.run({ eachMessage: async ({ message }) => void plans.push(CapacityPlanEventSchema.parse(JSON.parse(message.value!.toString())) as CapacityPlanEvent) });
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const poolsFile = join(mkdtempSync(join(tmpdir(), 'allocator-race-')), 'pools.json');
    writeFileSync(poolsFile, JSON.stringify({
      pools: [{ region: 'us-east-1', capacity: { cpuCores: CAPACITY, memoryGiB: 1000, egressMbps: 100_000 }, provisioningDelaySeconds: 600, costPerHour: { cpuCore: 0.04, memoryGiB: 0.005, egressMbps: 0.001 }, endpoints: { ipv4: ['192.0.2.1'], ipv6: [] } }],
    }));
    instanceEnv = { ...env, HTTP_PORT: '0', KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_PREFIX: uniqueName('alr'), ALLOCATOR_DB_SCHEMA: schema, ALLOCATOR_POOLS_FILE: poolsFile, ALLOCATOR_BUDGET_UTILISATION: 'off' }; // sizes are the tier's quantile × headroom
    // One first, so the schema is migrated once; the second joins its consumer group.
    await start();
    await start();
  });

  afterAll(async () => {
    await planReader.disconnect();
    await producer?.disconnect();
    await Promise.all(instances.map((p) => p.kill('SIGTERM').catch(() => undefined)));
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('race on a pool too small, one instance SIGKILLed mid-stream: never over-committed, every event applied once, no reservation duplicated or lost', async () => {
    // Half a core each: 12 of 20 cores, everything fits.
    const first = await sendAll(0.5);
    await eventually(() => processed(first), (n) => n === first.length, 60_000);
    expect((await ledger()).committed).toBeCloseTo(12, 3);

    // A core each: 24 asked of 20. Both instances decide from views the other is changing.
    const second = await sendAll(1);
    const [victim] = instances;
    await eventually(async () => plans.filter((p) => p.payload.regions.some((r) => r.reserved.cpuCores > 0.6)).length, (n) => n >= 3, 60_000, 20);
    await victim.kill('SIGKILL');
    // The survivor takes the victim's partitions once the group notices (session timeout): every event applied, each once.
    await eventually(() => processed(second), (n) => n === second.length, 150_000, 500);

    // Both instances decided (each held partitions): the race was between processes.
    expect(instances.slice(0, 2).every((i) => i.logLines().some((l) => l.msg === 'capacity plan decided'))).toBe(true);
    const after = await ledger();
    expect(after.committed).toBeLessThanOrEqual(after.capacity * (1 + 1e-9));
    // Nothing lost: the pool is full (24 asked, 20 there); nothing duplicated: the pool's total is the sum of the rows.
    expect(after.committed).toBeCloseTo(CAPACITY, 3);
    expect(Object.values(after.reserved).reduce((s, c) => s + c, 0)).toBeCloseTo(after.committed, 6);
    expect(Object.keys(after.reserved).sort()).toEqual([...DOMAINS].sort());
    for (const cpu of Object.values(after.reserved)) {
      expect(cpu).toBeGreaterThanOrEqual(0.5 - 1e-3); // what the first round gave is never taken away (counts round to 0.49998)
      expect(cpu).toBeLessThanOrEqual(1 + 1e-3);
    }
    // Never two different plans of one version of a domain (a plan the relay sent twice after the kill has the same event id).
    for (const domain of DOMAINS) {
      const idsByVersion = new Map<number, Set<string>>();
      for (const p of plans.filter((p) => p.payload.domain === domain)) idsByVersion.set(p.payload.version, (idsByVersion.get(p.payload.version) ?? new Set()).add(p.eventId));
      for (const ids of idsByVersion.values()) expect(ids.size).toBe(1);
    }
  });
});
