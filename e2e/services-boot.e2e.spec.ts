import { resolve } from 'node:path';
import { Producer, RecordMetadata } from 'kafkajs';
import { Client } from 'pg';
import { z } from 'zod';
import {
  CapacityPlanEventSchema,
  contractTopicSpecs,
  DemandForecastEventSchema,
  DemandObservedEventSchema,
  ErrorCodes,
  QuantileLevels,
  ShardAssignedEventSchema,
  Topics,
} from '@shardcast/contracts';
import { createKafka } from '@shardcast/platform';
import { ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';

/**
 * All six services as real processes (built with `npx tsc -b tsconfig.build.json`) against the
 * real stack: each boots, creates its topics, reports healthy and ready, and takes one valid and
 * two invalid events on the topic it consumes without crashing or looping.
 */

jest.setTimeout(180_000);

const env = stackEnv();
const prefix = `${uniqueName('boot')}.`;
const groupPrefix = uniqueName('boot');

interface ServiceUnderTest {
  name: string;
  /** Log message meaning "serving": ingest predates the `<name> ready` line and logs `listening`. */
  readyMessage: string;
  /** Env var naming its Postgres schema; the test gives each run its own. */
  schemaVar: string;
  checks: string[];
  consumes?: string;
  env?: Record<string, string>;
}

const services: ServiceUnderTest[] = [
  { name: 'ingest', readyMessage: 'ingest ready', schemaVar: 'INGEST_DB_SCHEMA', checks: ['consumers', 'kafka', 'postgres'], env: { INGEST_GROUP_ID: `${groupPrefix}-ingest` } },
  { name: 'forecaster', readyMessage: 'forecaster ready', schemaVar: 'FORECASTER_DB_SCHEMA', checks: ['consumers', 'kafka', 'postgres'], consumes: Topics.demandObserved },
  { name: 'allocator', readyMessage: 'allocator ready', schemaVar: 'ALLOCATOR_DB_SCHEMA', checks: ['consumers', 'kafka', 'postgres'], consumes: Topics.demandForecast },
  {
    name: 'shard-assigner',
    readyMessage: 'shard-assigner ready',
    schemaVar: 'SHARD_ASSIGNER_DB_SCHEMA',
    checks: ['consumers', 'kafka', 'postgres', 'redis'],
    consumes: Topics.capacityPlan,
    env: { SHARD_ASSIGNER_REDIS_KEY_PREFIX: `${groupPrefix}:shard-assigner:` },
  },
  { name: 'dns-publisher', readyMessage: 'dns-publisher ready', schemaVar: 'DNS_PUBLISHER_DB_SCHEMA', checks: ['consumers', 'kafka', 'postgres'], consumes: Topics.shardAssigned },
  { name: 'monitor', readyMessage: 'monitor ready', schemaVar: 'MONITOR_DB_SCHEMA', checks: ['consumers', 'kafka', 'postgres'], consumes: Topics.shardAssigned },
];

function envelope(type: string, payload: unknown) {
  return {
    eventId: uniqueName('evt'),
    type,
    occurredAt: '2026-11-25T12:00:00.000Z',
    producedBy: 'services-boot-test',
    correlationId: uniqueName('corr'),
    causationId: null,
    payload,
  };
}

const at = '2026-11-25T12:00:00.000Z';
const need = { cpuCores: 2, memoryGiB: 4, egressMbps: 100 };
const perQuantile = <T>(value: (i: number) => T) => Object.fromEntries(QuantileLevels.map((q, i) => [q, value(i)]));

/** A fresh valid event per topic, checked against the contract so a broken fixture fails here. */
const validEvent: Record<string, () => { eventId: string; correlationId: string }> = {
  [Topics.demandObserved]: () =>
    DemandObservedEventSchema.parse(
      envelope('demand.observed', {
        domain: 'app.example.com',
        region: 'eu-central-1',
        bucketStart: at,
        bucketSeconds: 60,
        revision: 1,
        requests: 120,
        errors: 1,
        bytes: 52_000,
        latencyMs: { p50: 12, p90: 40, p99: 90, max: 130 },
        latencySketch: '',
      }),
    ),
  [Topics.demandForecast]: () =>
    DemandForecastEventSchema.parse(
      envelope('demand.forecast', {
        kind: 'forecast',
        domain: 'app.example.com',
        region: 'eu-central-1',
        generatedAt: at,
        startAt: at,
        stepSeconds: 300,
        steps: 1,
        unit: 1,
        requests: perQuantile((i) => [90 + 10 * i]),
        model: { name: 'seasonal-naive', selected: 'seasonal-naive', mase: 1, baselineMase: 1, selectedAt: null },
        confidence: 'low',
        forecastOnly: false,
        priorWeight: 0,
        tier: 'pro',
        provisionQuantile: 'p90',
        requestCost: { cpuMs: 8, memoryMbPerConcurrent: 4, bytesOut: 4000, latencyMs: 80 },
        reason: 'scheduled',
      }),
    ),
  [Topics.capacityPlan]: () =>
    CapacityPlanEventSchema.parse(
      envelope('capacity.plan', {
        domain: 'app.example.com',
        tier: 'pro',
        version: 1,
        planId: uniqueName('plan'),
        validFrom: at,
        validUntil: '2026-11-25T13:00:00.000Z',
        regions: [
          {
            region: 'eu-central-1',
            reason: 'proactive',
            quantile: 'p90',
            reserved: need,
            requestsPerSecond: 120,
            shortRequestsPerSecond: 0,
            poolHeadroom: need,
            endpoints: { ipv4: ['192.0.2.10'], ipv6: [] },
            servedByOrigin: [{ origin: 'eu-central-1', requestsPerSecond: 120, forecastEventId: null }],
            schedule: [],
          },
        ],
        shortByOrigin: [],
      }),
    ),
  [Topics.shardAssigned]: () =>
    ShardAssignedEventSchema.parse(
      envelope('shard.assigned', {
        domain: 'app.example.com',
        version: 1,
        shards: [{ region: 'eu-central-1', hostname: 'eu-central-1.app.example.com', state: 'active', weight: 1, endpoints: { ipv4: ['192.0.2.10'], ipv6: [] } }],
        ring: { algorithm: 'bounded-rendezvous-table-xxh32', seed: 7, tableBits: 16, loadBoundPermille: 50 },
        movement: { fromVersion: null, moved: 0, exact: true, flows: [] },
        pendingMovement: null,
        source: { planId: 'plan-1', planVersion: 1 },
      }),
    ),
};

const running = new Map<string, { process: ServiceProcess; port: number; schema: string }>();
let producer: Producer;

beforeAll(async () => {
  for (const service of services) {
    const schema = uniqueName(service.name.replace('-', '_'));
    const serviceProcess = new ServiceProcess(resolve(__dirname, `../apps/${service.name}/dist/src/main.js`), {
      ...env,
      HTTP_PORT: '0', // the ready line says which port it bound
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_PREFIX: groupPrefix,
      LOG_LEVEL: 'debug', // handlers log each event at debug
      [service.schemaVar]: schema,
      ...service.env,
    });
    running.set(service.name, { process: serviceProcess, port: 0, schema });
  }
  // All six at once, as in a deployment: each creates the contract topics it finds missing.
  for (const { process } of running.values()) process.start();
  await Promise.all(
    services.map(async (s) => {
      const entry = running.get(s.name)!;
      const service = entry.process;
      // On failure show the whole stderr: Nest's DI errors run longer than ServiceProcess's last 5 lines.
      const ready = await service.waitForMessage(s.readyMessage, 90_000).catch((err: Error) => {
        throw new Error(`${s.name} did not get ready: ${err.message.split(';')[0]}\n${service.stderr.join('\n')}`);
      });
      entry.port = Number(ready.port);
    }),
  );

  producer = createKafka(env.KAFKA_BROKERS.split(','), 'services-boot-test').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await Promise.all([...running.values()].map(({ process }) => process.kill('SIGTERM')));
  if (process.env.KEEP_TEST_SCHEMA) return;
  const db = new Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  for (const { schema } of running.values()) await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db.end();
  const admin = createKafka(env.KAFKA_BROKERS.split(','), 'services-boot-test').admin();
  await admin.connect();
  const ours = new Set(contractTopicSpecs().map((s) => prefix + s.name));
  await admin.deleteTopics({ topics: (await admin.listTopics()).filter((t) => ours.has(t)) }).catch(() => undefined);
  await admin.disconnect();
});

describe.each(services.map((s) => [s.name, s] as const))('%s', (name, service) => {
  it('answers /healthz and reports every dependency ready on /readyz', async () => {
    const { port } = running.get(name)!;
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    const body = z.object({ status: z.string(), checks: z.record(z.string(), z.string()) }).parse(await ready.json());
    expect(ready.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(Object.keys(body.checks).sort()).toEqual(service.checks);
    expect(Object.values(body.checks).every((v) => v === 'ok')).toBe(true);
  });
});

describe.each(Object.keys(validEvent).map((topic) => [topic]))('events on %s', (topic) => {
  const consumers = services.filter((s) => s.consumes === topic);

  it(`reach ${consumers.map((s) => s.name).join(' and ')}; invalid ones are logged as EVENT_INVALID and skipped`, async () => {
    const first = validEvent[topic]();
    const last = validEvent[topic]();
    const schemaInvalid = { ...validEvent[topic](), payload: { domain: 42 } };
    // One key, so all four land on one partition in this order: the last valid event can only
    // arrive if the consumer moved past the invalid ones instead of retrying them.
    const key = 'app.example.com';
    const [meta] = (await producer.send({
      topic: prefix + topic,
      messages: [JSON.stringify(first), '{"eventId": "truncated', JSON.stringify(schemaInvalid), JSON.stringify(last)].map((value) => ({ key, value })),
    })) as RecordMetadata[];
    const partition = meta.partition;
    const offset = (i: number) => String(BigInt(meta.baseOffset!) + BigInt(i));

    for (const consumer of consumers) {
      const log = running.get(consumer.name)!.process;
      const received = await log.waitForLog((l) => l.msg === 'event received' && l.eventId === first.eventId);
      expect(received).toMatchObject({ topic: prefix + topic, partition, offset: offset(0), correlationId: first.correlationId });
      for (const i of [1, 2]) {
        // By topic too: a service consuming two topics (the allocator) rejects at the same positions on both.
        const rejected = await log.waitForLog((l) => l.msg === 'event rejected' && l.topic === prefix + topic && l.partition === partition && l.offset === offset(i));
        expect(rejected).toMatchObject({ code: ErrorCodes.EVENT_INVALID, topic: prefix + topic, key });
      }
      await log.waitForLog((l) => l.msg === 'event received' && l.eventId === last.eventId);
    }
  });
});
