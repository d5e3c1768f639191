import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, Producer } from 'kafkajs';
import { Client } from 'pg';
import { CapacityPlanEvent, CapacityPlanEventSchema, contractTopicSpecs, DEMAND_FORECAST, DEMAND_OBSERVED, DemandForecast, DemandForecastEvent, DemandObservedEvent, deterministicEventId, RequestCost, TierPolicy } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { eventually, readDeadLetters, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';

jest.setTimeout(120_000);

const API_KEY = 'alloc-key-1';
const COST: RequestCost = { cpuMs: 10, memoryMbPerConcurrent: 1, bytesOut: 100, latencyMs: 10 };
const pool = (region: string, cpuCores: number, ipv4: string) => ({
  region,
  capacity: { cpuCores, memoryGiB: 1000, egressMbps: 100_000 },
  provisioningDelaySeconds: 600,
  costPerHour: { cpuCore: 0.04, memoryGiB: 0.005, egressMbps: 0.001 },
  endpoints: { ipv4: [ipv4], ipv6: [] },
});

/** An enterprise forecast of `domain` in `region` asking for `cores` CPU cores over the next hour. */
function forecast(domain: string, region: string, cores: number, priorWeight: number): DemandForecast {
  const rate = (cores * 1000) / COST.cpuMs / TierPolicy.enterprise.headroom;
  const counts = new Array<number>(12).fill(Math.round(rate * 300));
  const now = new Date(Math.floor(Date.now() / 300_000) * 300_000).toISOString();
  return {
    kind: 'forecast', domain, region, generatedAt: new Date().toISOString(), startAt: now, stepSeconds: 300, steps: 12, unit: 1,
    requests: { p05: counts, p10: counts, p50: counts, p90: counts, p95: counts, p99: counts },
    model: { name: 'prior', selected: 'prior', mase: null, baselineMase: null, selectedAt: null }, confidence: 'low', forecastOnly: false, priorWeight,
    tier: 'enterprise', provisionQuantile: 'p99', requestCost: COST, reason: priorWeight >= 0.5 ? 'registered' : 'moved',
  };
}

function envelope<P>(type: string, payload: P): { eventId: string; type: string; occurredAt: string; producedBy: string; correlationId: string; causationId: null; payload: P } {
  const eventId = uniqueName('ev');
  return { eventId, type, occurredAt: new Date().toISOString(), producedBy: 'test', correlationId: `corr-${eventId}`, causationId: null, payload };
}

describe('allocator service on the real stack', () => {
  const env = stackEnv();
  const prefix = `${uniqueName('al')}.`;
  const schema = uniqueName('allocator_int');
  const kafka: Kafka = createKafka(env.KAFKA_BROKERS.split(','), 'allocator-int-test');
  const db = new Client({ connectionString: env.DATABASE_URL });
  const plans: CapacityPlanEvent[] = [];
  const planReader = kafka.consumer({ groupId: uniqueName('plan-reader') });
  let producer: Producer;
  let service: ServiceProcess;
  let base: string;

  const send = (topic: string, key: string, value: string) => producer.send({ topic: `${prefix}${topic}`, messages: [{ key, value }] });
  const sendForecast = (e: DemandForecastEvent) => send('demand.forecast.v1', e.payload.domain, JSON.stringify(e));
  const planFor = (causationId: string) => eventually(async () => plans.find((p) => p.causationId === causationId), (p) => p !== undefined, 30_000, 100).then((p) => p!);
  const reservations = async (domain: string) =>
    Object.fromEntries((await db.query(`SELECT region, cpu FROM "${schema}".reservations WHERE domain = $1`, [domain])).rows.map((r) => [r.region, Number(r.cpu)]));
  const committedCpu = async (region: string) => Number((await db.query(`SELECT committed_cpu FROM "${schema}".pools WHERE region = $1`, [region])).rows[0].committed_cpu);
  const api = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, { ...init, headers: { 'x-api-key': API_KEY, 'content-type': 'application/json', ...(init.headers ?? {}) } });

  beforeAll(async () => {
    await db.connect();
    await ensureTopics(kafka, contractTopicSpecs(), 3, prefix);
    await planReader.connect();
    await planReader.subscribe({ topic: `${prefix}capacity.plan.v1`, fromBeginning: true });
    await planReader.run({ eachMessage: async ({ message }) => void plans.push(CapacityPlanEventSchema.parse(JSON.parse(message.value!.toString())) as CapacityPlanEvent) });
    producer = kafka.producer();
    await producer.connect();
    const dir = mkdtempSync(join(tmpdir(), 'allocator-int-'));
    const poolsFile = join(dir, 'pools.json');
    writeFileSync(poolsFile, JSON.stringify({ pools: [pool('us-east-1', 20, '192.0.2.1'), pool('us-east-2', 20, '192.0.2.2'), pool('eu-central-1', 100, '192.0.2.3')] }));
    service = new ServiceProcess(resolve(__dirname, '../dist/src/main.js'), {
      ...env,
      HTTP_PORT: '0',
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_PREFIX: uniqueName('alg'),
      ALLOCATOR_DB_SCHEMA: schema,
      ALLOCATOR_API_KEYS: API_KEY,
      ALLOCATOR_POOLS_FILE: poolsFile,
      ALLOCATOR_TICK_INTERVAL_MS: '1000', // the tick test waits for one; ticks publish only what changed
      ALLOCATOR_BUDGET_UTILISATION: 'off', // the sizes below are the tier's quantile × headroom (the budget is unit-tested)
    }).start();
    base = `http://127.0.0.1:${(await service.waitForMessage('allocator ready')).port}`;
  });

  afterAll(async () => {
    await planReader.disconnect();
    await producer?.disconnect();
    await service?.kill('SIGTERM');
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('forecast events → ledger rows and a capacity.plan.v1 per change: prior, then proactive, version by version, with causation', async () => {
    const domain = 'shop.example.com';
    const prior = envelope(DEMAND_FORECAST, forecast(domain, 'us-east-1', 4, 1)) as DemandForecastEvent;
    await sendForecast(prior);
    const first = await planFor(prior.eventId);
    expect(first.correlationId).toBe(prior.correlationId);
    expect(first.payload).toMatchObject({ domain, tier: 'enterprise', version: 1, shortByOrigin: [] });
    expect(first.payload.regions).toHaveLength(1);
    expect(first.payload.regions[0]).toMatchObject({ region: 'us-east-1', reason: 'prior', quantile: 'p99', endpoints: { ipv4: ['192.0.2.1'] } });
    expect(first.payload.regions[0].reserved.cpuCores).toBeCloseTo(4, 1);
    expect(first.payload.regions[0].servedByOrigin).toEqual([{ origin: 'us-east-1', requestsPerSecond: expect.any(Number), forecastEventId: prior.eventId }]);
    expect((await reservations(domain))['us-east-1']).toBeCloseTo(4, 1);

    const learnt = envelope(DEMAND_FORECAST, forecast(domain, 'us-east-1', 8, 0)) as DemandForecastEvent;
    await sendForecast(learnt);
    const second = await planFor(learnt.eventId);
    expect(second.payload.version).toBe(2);
    expect(second.payload.regions[0]).toMatchObject({ region: 'us-east-1', reason: 'proactive' });
    expect(second.payload.regions[0].reserved.cpuCores).toBeCloseTo(8, 1);
    expect((await reservations(domain))['us-east-1']).toBeCloseTo(8, 1);
    expect(await committedCpu('us-east-1')).toBeCloseTo(8, 1);
  });

  it('a pool too small: the rest spills to the next-closest pool, said in the plan, and no pool is committed past its capacity', async () => {
    const domain = 'big.example.com';
    const e = envelope(DEMAND_FORECAST, forecast(domain, 'us-east-1', 20, 0)) as DemandForecastEvent;
    await sendForecast(e);
    const plan = await planFor(e.eventId);
    const byRegion = Object.fromEntries(plan.payload.regions.map((r) => [r.region, r]));
    expect(byRegion['us-east-1'].reason).toBe('proactive');
    expect(byRegion['us-east-2']).toMatchObject({ reason: 'spill', servedByOrigin: [expect.objectContaining({ origin: 'us-east-1' })] });
    expect(byRegion['us-east-1'].reserved.cpuCores + byRegion['us-east-2'].reserved.cpuCores).toBeCloseTo(20, 1);
    expect(await committedCpu('us-east-1')).toBeLessThanOrEqual(20 * (1 + 1e-9));
  });

  it('a redelivered event reserves nothing twice and publishes no second plan', async () => {
    const domain = 'twice.example.com';
    const e = envelope(DEMAND_FORECAST, forecast(domain, 'eu-central-1', 6, 0)) as DemandForecastEvent;
    await sendForecast(e);
    await planFor(e.eventId);
    await sendForecast(e); // the same event again (a producer retry, a replay)
    // Then a later event on the same partition (same key): once its plan is out, the duplicate was consumed before it.
    const later = envelope(DEMAND_FORECAST, { ...forecast(domain, 'eu-central-1', 6, 0), generatedAt: new Date(Date.now() + 1000).toISOString(), reason: 'scheduled' as const }) as DemandForecastEvent;
    await sendForecast(later);
    await eventually(async () => (await db.query(`SELECT count(*)::int AS n FROM "${schema}".processed_events WHERE event_id = $1`, [later.eventId])).rows[0].n, (n) => n === 1, 30_000, 100);
    expect(plans.filter((p) => p.causationId === e.eventId)).toHaveLength(1);
    expect(plans.filter((p) => p.payload.domain === domain)).toHaveLength(1); // the later one changed nothing a consumer sees
    expect((await reservations(domain))['eu-central-1']).toBeCloseTo(6, 1);
    expect(await committedCpu('eu-central-1')).toBeCloseTo(6, 1);
    await service.waitForLog((l) => l.msg === 'event applied already; skipped' && l.eventId === e.eventId, 5_000);
  });

  it('the tick re-decides without new events: a forecast whose demand comes into the reservation window later gets its capacity then', async () => {
    const domain = 'later.example.com';
    // Capacity asked for now covers [now, now + delay (600 s) + a minute]: demand starting 5 s past that is not reserved yet.
    const startMs = Date.now() + (600 + 60 + 5) * 1000;
    const f = { ...forecast(domain, 'eu-central-1', 2, 0), startAt: new Date(startMs).toISOString() };
    const e = envelope(DEMAND_FORECAST, f) as DemandForecastEvent;
    await sendForecast(e);
    const first = await planFor(e.eventId);
    expect(first.payload.regions).toEqual([]);
    const ticked = await eventually(async () => plans.find((p) => p.payload.domain === domain && p.payload.regions.length > 0), (p) => p !== undefined, 30_000, 100);
    expect(ticked!.causationId).toBeNull();
    expect(ticked!.payload.version).toBe(first.payload.version + 1);
    expect(ticked!.payload.regions[0]).toMatchObject({ region: 'eu-central-1', reason: 'proactive', servedByOrigin: [expect.objectContaining({ forecastEventId: e.eventId })] });
    expect(Date.now()).toBeGreaterThanOrEqual(startMs - 660_000);
    expect((await reservations(domain))['eu-central-1']).toBeCloseTo(2, 1);
  });

  it('poison events are dead-lettered with their reason (invalid at once; failing every time after bounded retries) and the partition goes on', async () => {
    const domain = 'poison.example.com';
    await send('demand.forecast.v1', domain, '{"not": "a forecast"');
    const bad = envelope(DEMAND_FORECAST, { ...forecast(domain, 'us-east-1', 1, 0), steps: 0 });
    await send('demand.forecast.v1', domain, JSON.stringify(bad));
    // Valid, but no plan can say it: 3 × 10^12 requests/s short is past what capacity.plan.v1 takes. Fails every time: retried, then dead-lettered.
    const huge = envelope(DEMAND_FORECAST, { ...forecast(domain, 'us-east-1', 1, 0), unit: 1e12, requests: Object.fromEntries(['p05', 'p10', 'p50', 'p90', 'p95', 'p99'].map((q) => [q, new Array(12).fill(1000)])) });
    await send('demand.forecast.v1', domain, JSON.stringify(huge));
    const good = envelope(DEMAND_FORECAST, forecast(domain, 'eu-central-1', 1, 0)) as DemandForecastEvent;
    await sendForecast(good);
    expect((await planFor(good.eventId)).payload.domain).toBe(domain);
    const dead = await eventually(() => readDeadLetters(env.KAFKA_BROKERS, `${prefix}demand.forecast.v1.dlq`), (d) => d.length >= 3, 30_000);
    expect(dead.map((d) => d.code)).toEqual(['EVENT_INVALID', 'EVENT_INVALID', 'EVENT_UNPROCESSABLE']);
    expect(dead[0].value).toBe('{"not": "a forecast"');
    expect(JSON.parse(dead[2].value).eventId).toBe(huge.eventId);
    const rejected = await service.waitForLog((l) => l.msg === 'event rejected' && l.code === 'EVENT_UNPROCESSABLE', 5_000);
    expect(String(rejected.reason)).toMatch(/^failed \d+ times: [\s\S]*requestsPerSecond/);
    expect(await reservations(domain)).toEqual({ 'eu-central-1': expect.any(Number) });
  });

  it('observed demand above what is reserved scales up at once (reactive); a deregistration releases everything and publishes a final empty plan', async () => {
    const domain = 'shop.example.com'; // holds 8 cores in us-east-1 after the first test
    const bucketStart = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60_000).toISOString();
    // 1,200 req/s at 10 ms each: 12 cores observed; the floor is × 1.2.
    const observed = envelope(DEMAND_OBSERVED, {
      domain, region: 'us-east-1', bucketStart, bucketSeconds: 60, revision: 1, requests: 72_000, errors: 0, bytes: 0, latencyMs: { p50: 1, p90: 1, p99: 1, max: 1 }, latencySketch: '',
    }) as DemandObservedEvent;
    // On demand.observed.v2, with an earlier, smaller minute of the same series in the same event: the net acts on the latest bucket, under its v1 id.
    const earlier = { ...observed.payload, bucketStart: new Date(Date.parse(bucketStart) - 60_000).toISOString(), requests: 600 };
    const batch = envelope(DEMAND_OBSERVED, { source: { topic: 'telemetry.requests.v1', partition: 0, fromOffset: '0', commitOffset: '2', chunk: 0, chunks: 1 }, buckets: [earlier, observed.payload] });
    await send('demand.observed.v2', 'telemetry.requests.v1:0', JSON.stringify(batch));
    const up = await planFor(deterministicEventId(DEMAND_OBSERVED, domain, 'us-east-1', bucketStart, 1));
    expect(plans.some((p) => p.causationId === deterministicEventId(DEMAND_OBSERVED, domain, 'us-east-1', earlier.bucketStart, 1))).toBe(false);
    expect(up.payload.version).toBeGreaterThanOrEqual(3);
    const reasons = Object.fromEntries(up.payload.regions.map((r) => [r.region, r.reason]));
    expect(reasons['us-east-1']).toBe('reactive');
    const total = up.payload.regions.reduce((s, r) => s + r.reserved.cpuCores, 0) + up.payload.shortByOrigin.reduce((s, o) => s + (o.requestsPerSecond * COST.cpuMs) / 1000, 0);
    expect(total).toBeCloseTo(14.4, 1);

    const gone = envelope(DEMAND_FORECAST, { kind: 'deregistered' as const, domain, deregisteredAt: new Date().toISOString(), regions: ['us-east-1'] }) as DemandForecastEvent;
    await sendForecast(gone);
    const last = await planFor(gone.eventId);
    expect(last.payload).toMatchObject({ domain, regions: [], shortByOrigin: [] });
    expect(last.payload.version).toBe(up.payload.version + 1);
    expect(await reservations(domain)).toEqual({});
    // Released, not just forgotten: the pool's total is what the remaining reservations hold (a tick may already have given big.example.com the room).
    const held = Number((await db.query(`SELECT coalesce(sum(cpu), 0) AS cpu FROM "${schema}".reservations WHERE region = 'us-east-1'`)).rows[0].cpu);
    expect(await committedCpu('us-east-1')).toBeCloseTo(held, 6);

    // Late telemetry of the deregistered domain revives nothing: behind it on its partition (same key), a sentinel's plan comes out, and no plan of the domain.
    await send('demand.observed.v1', domain, JSON.stringify({ ...observed, eventId: uniqueName('late') }));
    const sentinel = envelope(DEMAND_OBSERVED, { ...observed.payload, domain: 'sentinel.example.com', region: 'eu-central-1' });
    await send('demand.observed.v1', domain, JSON.stringify(sentinel));
    await planFor(sentinel.eventId);
    expect(plans.filter((p) => p.payload.domain === domain).at(-1)!.eventId).toBe(last.eventId);
    expect(await reservations(domain)).toEqual({});
  });
  it('pools API over real HTTP: API key, list and get with what is committed, PUT validated, 409 with a code for a shrink below committed or a delete of a pool in use, OpenAPI', async () => {
    const denied = await fetch(`${base}/v1/pools`);
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ code: 'UNAUTHORIZED' });

    const list = (await (await api('/v1/pools')).json()) as { pools: Array<{ pool: { region: string }; committed: { cpuCores: number } }> };
    expect(list.pools.map((p) => p.pool.region)).toEqual(['eu-central-1', 'us-east-1', 'us-east-2']);
    const east = (await (await api('/v1/pools/us-east-1')).json()) as { pool: { capacity: { cpuCores: number } }; committed: { cpuCores: number } };
    expect(east.pool.capacity.cpuCores).toBe(20);
    expect(east.committed.cpuCores).toBeCloseTo(await committedCpu('us-east-1'), 6);
    expect(east.committed.cpuCores).toBeGreaterThan(5);
    expect((await api('/v1/pools/ap-south-1')).status).toBe(404);
    const badRegion = await api('/v1/pools/Not_A_Region');
    expect(badRegion.status).toBe(400);
    expect(await badRegion.json()).toMatchObject({ code: 'REQUEST_INVALID' });

    const body = (cpuCores: number) => JSON.stringify({ ...pool('x', cpuCores, '192.0.2.9'), region: undefined });
    const invalid = await api('/v1/pools/ap-south-1', { method: 'PUT', body: JSON.stringify({ capacity: { cpuCores: -1 } }) });
    expect(invalid.status).toBe(400);
    const reasons = (await invalid.json()) as { code: string; issues: string[] };
    expect(reasons.code).toBe('REQUEST_INVALID');
    expect(reasons.issues.join(' ')).toMatch(/capacity\.cpuCores/);
    expect(reasons.issues.join(' ')).toMatch(/provisioningDelaySeconds/);
    const created = await api('/v1/pools/ap-south-1', { method: 'PUT', body: body(64) });
    expect(created.status).toBe(200);
    expect(await created.json()).toMatchObject({ pool: { region: 'ap-south-1', capacity: { cpuCores: 64 } }, committed: { cpuCores: 0 } });

    const shrink = await api('/v1/pools/us-east-1', { method: 'PUT', body: body(5) });
    expect(shrink.status).toBe(409);
    expect(await shrink.json()).toMatchObject({ code: 'POOL_CAPACITY_EXCEEDED', committed: { cpuCores: expect.any(Number) } });
    expect(((await (await api('/v1/pools/us-east-1')).json()) as typeof east).pool.capacity.cpuCores).toBe(20);
    const grow = await api('/v1/pools/us-east-1', { method: 'PUT', body: JSON.stringify({ ...pool('x', 40, '192.0.2.1'), region: undefined }) });
    expect(grow.status).toBe(200);

    const inUse = await api('/v1/pools/us-east-1', { method: 'DELETE' });
    expect(inUse.status).toBe(409);
    expect(await inUse.json()).toMatchObject({ code: 'POOL_IN_USE' });
    expect((await api('/v1/pools/ap-south-1', { method: 'DELETE' })).status).toBe(200);
    const again = await api('/v1/pools/ap-south-1', { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ code: 'NOT_FOUND' });

    const openapi = (await (await fetch(`${base}/docs/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(openapi.paths['/v1/pools/{region}']).sort()).toEqual(['delete', 'get', 'put']);
    expect(openapi.paths['/v1/pools']).toHaveProperty('get');
  });
});
