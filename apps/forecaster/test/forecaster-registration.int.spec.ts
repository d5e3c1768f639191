import { resolve } from 'node:path';
import { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { contractTopicSpecs, DOMAIN_REGISTERED, DomainRegisteredEvent, DomainRegisteredEventSchema, DemandForecastEventSchema, DemandForecastPayload, forecastResources } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { eventually, kcat, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';

jest.setTimeout(120_000);

const API_KEY = 'test-key-1';

function registration(domain: string, payload: Partial<DomainRegisteredEvent['payload']> = {}): DomainRegisteredEvent {
  const eventId = uniqueName('reg');
  return {
    eventId,
    type: DOMAIN_REGISTERED,
    occurredAt: new Date().toISOString(),
    producedBy: 'registrar',
    correlationId: eventId,
    causationId: null,
    payload: {
      domain,
      appType: 'webapp',
      tier: 'pro',
      userBase: { peakRequestsPerSecond: 400 },
      markets: [
        { country: 'DE', share: 0.6 },
        { country: 'BR', share: 0.4 },
      ],
      registeredAt: new Date().toISOString(),
      ...payload,
    },
  };
}

describe('registration: forecasts before the first request', () => {
  const env = stackEnv();
  const prefix = `${uniqueName('fr')}.`;
  const schema = uniqueName('forecaster_reg');
  const kafka: Kafka = createKafka(env.KAFKA_BROKERS.split(','), 'forecaster-reg-test');
  const db = new Client({ connectionString: env.DATABASE_URL });
  const consumer = kafka.consumer({ groupId: uniqueName('forecast-reader') });
  const producer = kafka.producer();
  const events: Array<{ payload: DemandForecastPayload; at: number }> = [];
  const registrations = kafka.consumer({ groupId: uniqueName('registration-reader') });
  /** domain.registered.v1 as the topic holds it: a null value is a tombstone. */
  const records: Array<{ key: string; value: string | null }> = [];
  let service: ServiceProcess;
  let base: string;

  beforeAll(async () => {
    await db.connect();
    await ensureTopics(kafka, contractTopicSpecs(), 3, prefix);
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}demand.forecast.v1`, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void events.push({ payload: DemandForecastEventSchema.parse(JSON.parse(message.value!.toString())).payload, at: Date.now() }) });
    await registrations.connect();
    await registrations.subscribe({ topic: `${prefix}domain.registered.v1`, fromBeginning: true });
    await registrations.run({ eachMessage: async ({ message }) => void records.push({ key: message.key!.toString(), value: message.value?.toString() ?? null }) });
    await producer.connect();
    service = new ServiceProcess(resolve(__dirname, '../dist/src/main.js'), {
      ...env,
      HTTP_PORT: '0',
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_PREFIX: uniqueName('frg'),
      FORECASTER_DB_SCHEMA: schema,
      FORECASTER_API_KEYS: API_KEY,
      FORECAST_WORKERS: '1',
    }).start();
    base = `http://127.0.0.1:${(await service.waitForMessage('forecaster ready')).port}`;
  });

  afterAll(async () => {
    await consumer.disconnect();
    await registrations.disconnect();
    await producer.disconnect();
    await service?.kill('SIGTERM');
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('a registration on domain.registered.v1 with no telemetry at all → a forecast per market region within 10 s; a tombstone deregisters', async () => {
    const sent = Date.now();
    await producer.send({ topic: `${prefix}domain.registered.v1`, messages: [{ key: 'new.example.com', value: JSON.stringify(registration('new.example.com')) }] });
    const mine = () => events.filter((e) => e.payload.domain === 'new.example.com');
    const got = await eventually(async () => mine(), (es) => es.length >= 2, 10_000, 100);
    expect(Math.max(...got.map((e) => e.at)) - sent).toBeLessThan(10_000);
    const byRegion = Object.fromEntries(got.map((e) => [e.payload.kind === 'forecast' ? e.payload.region : '', e.payload]));
    expect(Object.keys(byRegion).sort()).toEqual(['eu-central-1', 'sa-east-1']);
    for (const f of Object.values(byRegion)) {
      if (f.kind !== 'forecast') throw new Error('expected a forecast');
      expect(f).toMatchObject({ priorWeight: 1, forecastOnly: false, confidence: 'low', tier: 'pro', provisionQuantile: 'p90', reason: 'registered', steps: 576 });
      expect(forecastResources(f, 0).cpuCores).toBeGreaterThan(0);
      const bytes = Buffer.byteLength(JSON.stringify(f));
      expect(bytes).toBeLessThan(16_384);
    }
    // 60 % of a 400 req/s peak in Frankfurt: its forecast peak at p50 is about 240 req/s.
    const de = byRegion['eu-central-1'];
    if (de.kind !== 'forecast') throw new Error('expected a forecast');
    const peak = Math.max(...de.requests.p50) * de.unit / de.stepSeconds;
    expect(peak).toBeGreaterThan(200);
    expect(peak).toBeLessThanOrEqual(241);

    await producer.send({ topic: `${prefix}domain.registered.v1`, messages: [{ key: 'new.example.com', value: null }] });
    const gone = await eventually(async () => mine().find((e) => e.payload.kind === 'deregistered'), (e) => e !== undefined, 10_000, 100);
    expect(gone!.payload).toMatchObject({ kind: 'deregistered', regions: ['eu-central-1', 'sa-east-1'] });
    const left = await db.query(`SELECT count(*)::int AS n FROM "${schema}".forecasts WHERE domain = 'new.example.com'`);
    expect(left.rows[0].n).toBe(0);
  });

  it('dead-letters a registration the contract refuses (a domain too long for its shard names) with the reason', async () => {
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(55)}.com`; // 243 characters: a valid name, too long for shards
    await producer.send({ topic: `${prefix}domain.registered.v1`, messages: [{ key: long, value: JSON.stringify(registration(long)) }] });
    const dlq = await eventually(
      () => kcat(['-b', env.KAFKA_BROKERS, '-t', `${prefix}domain.registered.v1.dlq`, '-C', '-e', '-q', '-o', 'beginning', '-f', '%h\n']),
      (out) => out.includes('EVENT_INVALID'),
      30_000,
    );
    expect(dlq).toMatch(/x-error-reason=[^,]*at most 232 characters/);
  });

  it('registers over HTTP (400 with reasons for a bad one), forecasts at once, and DELETE deregisters', async () => {
    const put = (domain: string, body: unknown) =>
      fetch(`${base}/v1/domains/${domain}`, { method: 'PUT', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await put('api.example.com', { appType: 'mainframe', tier: 'pro', userBase: { accountSize: 'huge' }, markets: [{ country: 'DE', share: 0.5 }] });
    expect(bad.status).toBe(400);
    const reasons = (await bad.json()) as { code: string; issues: string[] };
    expect(reasons.code).toBe('REQUEST_INVALID');
    expect(reasons.issues.join(' ')).toMatch(/appType/);
    expect(reasons.issues.join(' ')).toMatch(/add up to 1/);

    const good = await put('api.example.com', { appType: 'database', tier: 'enterprise', userBase: { accountSize: 'small' } });
    expect(good.status).toBe(200);
    const body = (await good.json()) as { regions: Array<{ region: string }>; forecasts: Array<{ region: string; priorWeight: number; provisionQuantile: string }> };
    expect(body.forecasts.map((f) => f.region).sort()).toEqual(body.regions.map((r) => r.region).sort());
    expect(body.forecasts.length).toBeGreaterThanOrEqual(5); // the enterprise default mix
    expect(body.forecasts.every((f) => f.priorWeight === 1 && f.provisionQuantile === 'p99')).toBe(true);
    expect((await fetch(`${base}/v1/domains/api.example.com/forecasts`, { headers: { 'x-api-key': API_KEY } })).status).toBe(200);

    const del = () => fetch(`${base}/v1/domains/api.example.com`, { method: 'DELETE', headers: { 'x-api-key': API_KEY } });
    expect((await del()).status).toBe(200);
    expect((await del()).status).toBe(404);
    expect((await fetch(`${base}/v1/domains/api.example.com/forecasts`, { headers: { 'x-api-key': API_KEY } })).status).toBe(404);
  });

  it('an API registration reaches domain.registered.v1 keyed by its domain, its echo changes nothing, and DELETE leaves a tombstone', async () => {
    const domain = 'via-api.example.com';
    const put = await fetch(`${base}/v1/domains/${domain}`, {
      method: 'PUT',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ appType: 'api', tier: 'pro', userBase: { peakRequestsPerSecond: 50 }, markets: [{ country: 'JP', share: 1 }] }),
    });
    expect(put.status).toBe(200);
    const { registration } = (await put.json()) as { registration: DomainRegisteredEvent['payload'] };
    const mine = () => records.filter((r) => r.key === domain);
    const [record] = await eventually(async () => mine(), (rs) => rs.length >= 1, 30_000, 100);
    expect(record.value).not.toBeNull();
    const event = DomainRegisteredEventSchema.parse(JSON.parse(record.value!));
    expect(event).toMatchObject({ type: DOMAIN_REGISTERED, producedBy: 'forecaster', payload: registration });

    // The forecaster reads its own record back: the same registration, so nothing is stored or forecast again.
    const echo = await service.waitForLog((l) => l.msg === 'registration unchanged' && l.domain === domain, 30_000);
    expect(echo.changed).toBe(false);
    const forecastsOf = () => events.filter((e) => e.payload.domain === domain && e.payload.kind === 'forecast');
    await eventually(async () => forecastsOf(), (es) => es.length >= 1, 10_000, 100);
    expect(forecastsOf().map((e) => (e.payload.kind === 'forecast' ? e.payload.reason : ''))).toEqual(['registered']);

    expect((await fetch(`${base}/v1/domains/${domain}`, { method: 'DELETE', headers: { 'x-api-key': API_KEY } })).status).toBe(200);
    const both = await eventually(async () => mine(), (rs) => rs.length >= 2, 30_000, 100);
    expect(both.map((r) => r.value === null)).toEqual([false, true]);
    // The tombstone's echo finds the domain deregistered already: one deregistered event, not two.
    await service.waitForLog((l) => l.msg === 'deregistration unchanged: the domain is not registered' && l.domain === domain, 30_000);
    const deregistered = () => events.filter((e) => e.payload.domain === domain && e.payload.kind === 'deregistered');
    await eventually(async () => deregistered(), (es) => es.length >= 1, 10_000, 100);
    expect(deregistered()).toHaveLength(1);
  });
});
