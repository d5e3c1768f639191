import { resolve } from 'node:path';
import { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { CapacityPlanEvent, CapacityPlanEventSchema, contractTopicSpecs, DOMAIN_REGISTERED, DomainRegisteredEventSchema, QuantileLevel, QuantileProbability, ShardAssignedEvent, ShardAssignedEventSchema, TierPolicy } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { eventually, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';

/**
 * A domain registered on domain.registered.v1, with no telemetry at all, gets capacity and shards
 * before its first request: the forecaster publishes its prior forecast per market region, the
 * allocator (the default pools seed) reserves for it and publishes a capacity.plan.v1 with reason
 * `prior` in each, and the shard-assigner turns the plan into regional shards on
 * shard.assigned.v1, active once warm. All three are real processes; awaited on the topics, no sleeps.
 */

jest.setTimeout(180_000);

describe('registration → prior forecast → capacity plan → shard layout', () => {
  const env = stackEnv();
  const prefix = `${uniqueName('r2p')}.`;
  const groupPrefix = uniqueName('r2p');
  const schemas = { forecaster: uniqueName('forecaster_r2p'), allocator: uniqueName('allocator_r2p'), shardAssigner: uniqueName('shard_assigner_r2p') };
  const kafka: Kafka = createKafka(env.KAFKA_BROKERS.split(','), 'registration-to-shards-test');
  const plans: CapacityPlanEvent[] = [];
  const planReader = kafka.consumer({ groupId: uniqueName('plan-reader') });
  const layouts: ShardAssignedEvent[] = [];
  const layoutReader = kafka.consumer({ groupId: uniqueName('layout-reader') });
  const producer = kafka.producer();
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    await ensureTopics(kafka, contractTopicSpecs(), 3, prefix);
    await planReader.connect();
    await planReader.subscribe({ topic: `${prefix}capacity.plan.v1`, fromBeginning: true });
    await planReader.run({ eachMessage: async ({ message }) => void plans.push(CapacityPlanEventSchema.parse(JSON.parse(message.value!.toString())) as CapacityPlanEvent) });
    await layoutReader.connect();
    await layoutReader.subscribe({ topic: `${prefix}shard.assigned.v1`, fromBeginning: true });
    await layoutReader.run({ eachMessage: async ({ message }) => void (message.value && layouts.push(ShardAssignedEventSchema.parse(JSON.parse(message.value.toString())) as ShardAssignedEvent)) });
    await producer.connect();
    const common = { ...env, HTTP_PORT: '0', KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_PREFIX: groupPrefix };
    services.push(new ServiceProcess(resolve(__dirname, '../apps/forecaster/dist/src/main.js'), { ...common, FORECASTER_DB_SCHEMA: schemas.forecaster, FORECAST_WORKERS: '1' }).start());
    services.push(new ServiceProcess(resolve(__dirname, '../apps/allocator/dist/src/main.js'), { ...common, ALLOCATOR_DB_SCHEMA: schemas.allocator }).start());
    services.push(
      new ServiceProcess(resolve(__dirname, '../apps/shard-assigner/dist/src/main.js'), {
        ...common,
        SHARD_ASSIGNER_DB_SCHEMA: schemas.shardAssigner,
        SHARD_ASSIGNER_REDIS_KEY_PREFIX: `${groupPrefix}:shard-assigner:`,
        // Warm in a second (the default is the pools' 10 minutes), so the test sees the shards active.
        SHARD_ASSIGNER_WARMUP_MS: '1000',
        SHARD_ASSIGNER_TICK_INTERVAL_MS: '250',
      }).start(),
    );
    await Promise.all([services[0].waitForMessage('forecaster ready', 90_000), services[1].waitForMessage('allocator ready', 90_000), services[2].waitForMessage('shard-assigner ready', 90_000)]);
  });

  afterAll(async () => {
    await planReader.disconnect();
    await layoutReader.disconnect();
    await producer.disconnect();
    await Promise.all(services.map((s) => s.kill('SIGTERM')));
    const db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    for (const schema of Object.values(schemas)) await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('a registration with no telemetry → a capacity.plan.v1 with reason prior in each market region, caused by the prior forecasts → an active shard in each', async () => {
    const domain = 'launch.example.com';
    const eventId = uniqueName('reg');
    const registration = DomainRegisteredEventSchema.parse({
      eventId,
      type: DOMAIN_REGISTERED,
      occurredAt: new Date().toISOString(),
      producedBy: 'registrar',
      correlationId: eventId,
      causationId: null,
      payload: { domain, appType: 'webapp', tier: 'pro', userBase: { peakRequestsPerSecond: 400 }, markets: [{ country: 'DE', share: 0.6 }, { country: 'BR', share: 0.4 }], registeredAt: new Date().toISOString() },
    });
    await producer.send({ topic: `${prefix}domain.registered.v1`, messages: [{ key: domain, value: JSON.stringify(registration) }] });

    // One forecast per market region, so one plan per forecast: the one that covers both is the answer.
    const covers = (p: CapacityPlanEvent) => p.payload.domain === domain && ['eu-central-1', 'sa-east-1'].every((r) => p.payload.regions.some((x) => x.region === r));
    const plan = (await eventually(async () => plans.find(covers), (p) => p !== undefined, 60_000, 100))!;
    expect(plan.payload.tier).toBe('pro');
    expect(plan.payload.shortByOrigin).toEqual([]);
    for (const region of plan.payload.regions) {
      expect(region).toMatchObject({ reason: 'prior', shortRequestsPerSecond: 0 });
      // The pro tier's p90, or the level the budget allows below it (decision 0024): never above.
      expect(QuantileProbability[region.quantile as QuantileLevel]).toBeGreaterThanOrEqual(0.5);
      expect(QuantileProbability[region.quantile as QuantileLevel]).toBeLessThanOrEqual(QuantileProbability[TierPolicy.pro.quantile]);
      expect(region.reserved.cpuCores).toBeGreaterThan(0);
      expect(region.servedByOrigin).toEqual([{ origin: region.region, requestsPerSecond: region.requestsPerSecond, forecastEventId: expect.any(String) }]);
      expect(region.schedule.length).toBeGreaterThan(0);
    }
    // Causation walks back to a prior forecast, and correlation to the registration.
    expect(plan.correlationId).toBe(eventId);
    const causes = new Set(plan.payload.regions.flatMap((r) => r.servedByOrigin.map((o) => o.forecastEventId)));
    expect(causes.has(plan.causationId)).toBe(true);
    // Frankfurt takes 60 % of the users, São Paulo 40 %: its reservation at its daily peak is the
    // larger. (Not the rate now: at 00:00 UTC it is night in Frankfurt and evening in São Paulo.)
    const peakCores = Object.fromEntries(plan.payload.regions.map((r) => [r.region, Math.max(...r.schedule.map((b) => b.reserved.cpuCores))]));
    const horizonHours = (r: (typeof plan.payload.regions)[number]) => (Date.parse(r.schedule[r.schedule.length - 1].until) - Date.parse(r.schedule[0].from)) / 3_600_000;
    for (const r of plan.payload.regions) expect(horizonHours(r)).toBeGreaterThanOrEqual(24); // a whole day: both peaks inside
    expect(peakCores['eu-central-1']).toBeGreaterThan(peakCores['sa-east-1']);
    // Versions are monotonic per domain.
    const versions = plans.filter((p) => p.payload.domain === domain).map((p) => p.payload.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));

    // The shard-assigner follows the plans: a shard in each market region, named after it, reached
    // at its pool's endpoints, active once warm, with causation back to the plan.
    const serving = (l: ShardAssignedEvent) =>
      l.payload.domain === domain && ['eu-central-1', 'sa-east-1'].every((r) => l.payload.shards.some((s) => s.region === r && s.state === 'active'));
    const layout = (await eventually(async () => layouts.find(serving), (l) => l !== undefined, 60_000, 100))!;
    expect(layout.payload.shards.map((s) => s.hostname).sort()).toEqual(['eu-central-1.launch.example.com', 'sa-east-1.launch.example.com']);
    for (const shard of layout.payload.shards) {
      const planned = plans.find((p) => p.eventId === layout.payload.source!.planId)!.payload.regions.find((r) => r.region === shard.region)!;
      expect(shard.endpoints).toEqual(planned.endpoints);
    }
    expect(plans.some((p) => p.eventId === layout.payload.source!.planId && p.payload.version === layout.payload.source!.planVersion)).toBe(true);
    // Keys follow the reserved capacity: Frankfurt's shard weighs more.
    const weight = Object.fromEntries(layout.payload.shards.map((s) => [s.region, s.weight]));
    expect(weight['eu-central-1']).toBeGreaterThan(weight['sa-east-1']);
    // First appearances (the outbox may send one twice): 1, 2, 3…
    const layoutVersions = [...new Set(layouts.filter((l) => l.payload.domain === domain).map((l) => l.payload.version))];
    expect(layoutVersions).toEqual(Array.from({ length: layoutVersions.length }, (_, i) => i + 1));
  });
});
