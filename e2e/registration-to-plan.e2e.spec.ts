import { resolve } from 'node:path';
import { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { CapacityPlanEvent, CapacityPlanEventSchema, contractTopicSpecs, DOMAIN_REGISTERED, DomainRegisteredEventSchema, QuantileLevel, QuantileProbability, TierPolicy } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { eventually, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';

/**
 * A domain registered on domain.registered.v1, with no telemetry at all, gets capacity before its
 * first request: the forecaster publishes its prior forecast per market region, the allocator
 * (both real processes, the default pools seed) reserves for it and publishes a capacity.plan.v1
 * with reason `prior` in each. Awaited on the topics, no sleeps.
 */

jest.setTimeout(180_000);

describe('registration → prior forecast → capacity plan', () => {
  const env = stackEnv();
  const prefix = `${uniqueName('r2p')}.`;
  const groupPrefix = uniqueName('r2p');
  const schemas = { forecaster: uniqueName('forecaster_r2p'), allocator: uniqueName('allocator_r2p') };
  const kafka: Kafka = createKafka(env.KAFKA_BROKERS.split(','), 'registration-to-plan-test');
  const plans: CapacityPlanEvent[] = [];
  const planReader = kafka.consumer({ groupId: uniqueName('plan-reader') });
  const producer = kafka.producer();
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    await ensureTopics(kafka, contractTopicSpecs(), 3, prefix);
    await planReader.connect();
    await planReader.subscribe({ topic: `${prefix}capacity.plan.v1`, fromBeginning: true });
    await planReader.run({ eachMessage: async ({ message }) => void plans.push(CapacityPlanEventSchema.parse(JSON.parse(message.value!.toString())) as CapacityPlanEvent) });
    await producer.connect();
    const common = { ...env, HTTP_PORT: '0', KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_PREFIX: groupPrefix };
    services.push(new ServiceProcess(resolve(__dirname, '../apps/forecaster/dist/src/main.js'), { ...common, FORECASTER_DB_SCHEMA: schemas.forecaster, FORECAST_WORKERS: '1' }).start());
    services.push(new ServiceProcess(resolve(__dirname, '../apps/allocator/dist/src/main.js'), { ...common, ALLOCATOR_DB_SCHEMA: schemas.allocator }).start());
    await Promise.all([services[0].waitForMessage('forecaster ready', 90_000), services[1].waitForMessage('allocator ready', 90_000)]);
  });

  afterAll(async () => {
    await planReader.disconnect();
    await producer.disconnect();
    await Promise.all(services.map((s) => s.kill('SIGTERM')));
    const db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    for (const schema of Object.values(schemas)) await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('a registration with no telemetry → a capacity.plan.v1 with reason prior in each market region, caused by the prior forecasts', async () => {
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
    // Frankfurt takes 60 % of the users, São Paulo 40 %: its reservation is the larger.
    const rate = Object.fromEntries(plan.payload.regions.map((r) => [r.region, r.requestsPerSecond]));
    expect(rate['eu-central-1']).toBeGreaterThan(rate['sa-east-1']);
    // Versions are monotonic per domain.
    const versions = plans.filter((p) => p.payload.domain === domain).map((p) => p.payload.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  });
});
