import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { contractTopicSpecs, DEMAND_OBSERVED, DemandForecast, DemandForecastEventSchema, DemandObservedEvent, deterministicEventId, forecastResources, QuantileLevels } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { parseCountCsv } from '@shardcast/telemetry';
import { ModelSelection } from '@shardcast/forecasting';
import { eventually, kcat, ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';

jest.setTimeout(240_000);

const API_KEY = 'test-key-1';
const STEP_MS = 300_000;

function observed(domain: string, region: string, startMs: number, requests: number, revision = 1): DemandObservedEvent {
  const bucketStart = new Date(startMs).toISOString();
  const eventId = deterministicEventId(DEMAND_OBSERVED, domain, region, bucketStart, revision);
  return {
    eventId,
    type: DEMAND_OBSERVED,
    occurredAt: new Date().toISOString(),
    producedBy: 'test',
    correlationId: eventId,
    causationId: null,
    payload: {
      domain,
      region,
      bucketStart,
      bucketSeconds: STEP_MS / 1000,
      revision,
      requests,
      errors: 0,
      bytes: requests * 4000,
      latencyMs: { p50: 40, p90: 80, p99: 120, max: 200 },
      latencySketch: '',
    },
  };
}

describe('forecaster against the real broker and database', () => {
  const env = stackEnv();
  const prefix = `${uniqueName('f')}.`;
  const schema = uniqueName('forecaster_t');
  const kafka: Kafka = createKafka(env.KAFKA_BROKERS.split(','), 'forecaster-test');
  const db = new Client({ connectionString: env.DATABASE_URL });
  let service: ServiceProcess;
  let base: string;
  const forecasts = new Map<string, { payload: DemandForecast }>();
  const consumer = kafka.consumer({ groupId: uniqueName('forecast-reader') });

  // Real request counts (NAB ELB, 5 min) for the main series: 6 days.
  const elb = parseCountCsv(readFileSync(resolve(__dirname, '../../../data/series/elb_request_count_8c0756.csv'), 'utf8')).slice(0, 6 * 288);
  const gapStart = elb[3 * 288].timestampMs;
  const lastElb = elb[elb.length - 1].timestampMs;

  beforeAll(async () => {
    await db.connect();
    await ensureTopics(kafka, contractTopicSpecs(), 3, prefix);
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}demand.forecast.v1`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const event = DemandForecastEventSchema.parse(JSON.parse(message.value!.toString()));
        if (event.payload.kind === 'forecast') forecasts.set(`${event.payload.domain}|${event.payload.region}`, { payload: event.payload });
      },
    });
    service = new ServiceProcess(resolve(__dirname, '../dist/src/main.js'), {
      ...env,
      HTTP_PORT: '0', // the ready line says which port it bound
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_PREFIX: uniqueName('fg'),
      FORECASTER_DB_SCHEMA: schema,
      FORECASTER_API_KEYS: API_KEY,
      FORECAST_DEBOUNCE_MS: '500',
      FORECAST_HORIZON_HOURS: '12',
      FORECAST_SELECTION_ORIGINS: '4',
      FORECAST_WORKERS: '2',
      // Every re-forecast is published (not only one that moved), so the last one saw the whole series.
      FORECAST_PUBLISH_MAX_AGE_MS: '0',
      // The proactive gate's default, said here: the 6-day series have the 2 days and a day before them.
      FORECAST_GATE_DAYS: '2',
    }).start();
    base = `http://127.0.0.1:${(await service.waitForMessage('forecaster ready')).port}`;

    const events: DemandObservedEvent[] = [];
    for (const p of elb) events.push(observed('shop.example.com', 'eu-west-1', p.timestampMs, p.count));
    // The same series with six hours missing, on demand.observed.v2 (many buckets per event, as ingest's commits carry them).
    const gappy: DemandObservedEvent[] = [];
    for (const p of elb) if (p.timestampMs < gapStart || p.timestampMs >= gapStart + 6 * 3_600_000) gappy.push(observed('gappy.example.com', 'us-east-1', p.timestampMs, p.count));
    events.push(observed('lonely.example.com', 'ap-south-1', lastElb, 17));
    // Oldest first: a forecast starting after lastElb then saw the whole series (one partition, in order).
    for (let i = 2 * 288 - 1; i >= 0; i--) events.push(observed('quiet.example.com', 'sa-east-1', lastElb - i * STEP_MS, 0));
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < events.length; i += 500) {
      await producer.send({
        topic: `${prefix}demand.observed.v1`,
        messages: events.slice(i, i + 500).map((e) => ({ key: e.payload.domain, value: JSON.stringify(e) })),
      });
    }
    for (let i = 0; i < gappy.length; i += 400) {
      const buckets = gappy.slice(i, i + 400).map((e) => e.payload);
      const source = { topic: 'telemetry.requests.v1', partition: 0, fromOffset: String(i), commitOffset: String(i + buckets.length), chunk: 0, chunks: 1 };
      const batch = { ...observed('x.example.com', 'us-east-1', 0, 0), eventId: uniqueName('v2'), payload: { source, buckets } };
      await producer.send({ topic: `${prefix}demand.observed.v2`, messages: [{ key: `${source.topic}:${source.partition}`, value: JSON.stringify(batch) }] });
    }
    // Not an event at all, and an event of the wrong shape: logged and skipped, never fatal.
    await producer.send({ topic: `${prefix}demand.observed.v1`, messages: [{ key: 'x', value: '{"nope":true}' }, { key: 'x', value: 'garbage' }] });
    await producer.disconnect();
  });

  afterAll(async () => {
    await consumer.disconnect();
    await service?.kill('SIGTERM');
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('publishes a calibrated forecast per (domain, region) on demand.forecast.v1 and stores it', async () => {
    // Debounced forecasts may run on part of a series first; wait for the ones that saw it all.
    const complete = new Date(lastElb + STEP_MS).toISOString();
    await eventually(async () => [...forecasts.values()].filter((f) => f.payload.startAt === complete).length, (n) => n >= 4, 180_000);
    const shop = forecasts.get('shop.example.com|eu-west-1')!;
    expect(shop.payload.steps).toBe(12 * 12);
    expect(shop.payload.model.name).not.toBe('prior');
    expect(shop.payload.model.mase).not.toBeNull();
    expect(shop.payload.priorWeight).toBe(0);
    expect(shop.payload.startAt).toBe(new Date(lastElb + STEP_MS).toISOString());
    for (let i = 0; i < shop.payload.steps; i++) {
      for (let k = 1; k < QuantileLevels.length; k++) expect(shop.payload.requests[QuantileLevels[k]][i]).toBeGreaterThanOrEqual(shop.payload.requests[QuantileLevels[k - 1]][i]);
    }
    const meanObserved = elb.slice(-288).reduce((s, p) => s + p.count, 0) / 288;
    const meanForecast = (shop.payload.requests.p50.reduce((s, v) => s + v, 0) * shop.payload.unit) / shop.payload.steps;
    expect(meanForecast).toBeGreaterThan(meanObserved * 0.3);
    expect(meanForecast).toBeLessThan(meanObserved * 3);
    // Resources at the tier's quantile, from the per-request cost.
    expect(forecastResources(shop.payload, 0).cpuCores).toBeGreaterThan(0);

    const stored = await db.query(`SELECT domain, region FROM "${schema}".forecasts ORDER BY 1`);
    expect(stored.rows.map((r) => r.domain)).toEqual(['gappy.example.com', 'lonely.example.com', 'quiet.example.com', 'shop.example.com']);
    // Every bucket of the v2 events is in the history, under the id its v1 event would have had.
    const sent = elb.filter((p) => p.timestampMs < gapStart || p.timestampMs >= gapStart + 6 * 3_600_000);
    const history = await db.query(`SELECT bucket_start, event_id FROM "${schema}".observed_demand WHERE domain = 'gappy.example.com' ORDER BY bucket_start`);
    expect(history.rows).toHaveLength(sent.length);
    expect(history.rows[0].event_id).toBe(deterministicEventId(DEMAND_OBSERVED, 'gappy.example.com', 'us-east-1', new Date(sent[0].timestampMs).toISOString(), 1));
  });

  it('runs the proactive gate once history covers its window: the verdict is stored with the selection and decides forecastOnly', async () => {
    const selectionOf = async (domain: string) => (await db.query(`SELECT forecast_only, selection FROM "${schema}".model_selections WHERE domain = $1`, [domain])).rows[0] as { forecast_only: boolean; selection: ModelSelection } | undefined;
    const shop = await eventually(() => selectionOf('shop.example.com'), (row) => row?.selection.gate !== undefined, 180_000);
    const gate = shop!.selection.gate!;
    expect(gate.days).toBe(2);
    expect(gate.of).toBe(shop!.selection.selectedAt);
    expect(['pays', 'costlier', 'no-gain', 'unbracketed']).toContain(gate.reason);
    expect(gate.costRatio).toBeGreaterThan(0);
    expect(shop!.forecast_only).toBe(!gate.proactive);
    expect(shop!.selection.forecastOnly).toBe(!gate.proactive);
    // What is published follows the verdict (the run that gated publishes with it).
    await eventually(async () => forecasts.get('shop.example.com|eu-west-1')?.payload, (p) => p !== undefined && p.forecastOnly === !gate.proactive && p.model.selectedAt === shop!.selection.selectedAt);
    // A series with a point of history is never gated.
    expect((await selectionOf('lonely.example.com'))?.selection.gate).toBeUndefined();
  });

  it('forecasts through a gap, marks a one-point series low-confidence, and keeps a flat zero series at zero', async () => {
    const gappy = forecasts.get('gappy.example.com|us-east-1')!;
    expect(gappy.payload.requests.p50.every((v) => Number.isFinite(v))).toBe(true);
    expect(gappy.payload.model.name).not.toBe('prior');

    const lonely = forecasts.get('lonely.example.com|ap-south-1')!;
    expect(lonely.payload.confidence).toBe('low');
    expect(lonely.payload.forecastOnly).toBe(false); // nothing proved it worse than seasonal naive

    const quiet = forecasts.get('quiet.example.com|sa-east-1')!;
    expect(Math.max(...quiet.payload.requests.p99) * quiet.payload.unit).toBeLessThan(1);
  });

  it('dead-letters invalid events with their original bytes and reason', async () => {
    const dlq = await eventually(
      () => kcat(['-b', env.KAFKA_BROKERS, '-t', `${prefix}demand.observed.v1.dlq`, '-C', '-e', '-q', '-o', 'beginning', '-f', '%s|%h\n']),
      (out) => out.split('\n').filter(Boolean).length >= 2,
      60_000,
    );
    const rows = dlq.split('\n').filter(Boolean);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^\{"nope":true\}\|.*x-error-code=EVENT_INVALID/);
    expect(rows[1]).toMatch(/^garbage\|.*x-error-reason=not JSON/);
  });

  it('serves forecasts, profiles and accuracy over an API-key protected HTTP API with 4xx reasons', async () => {
    const get = (path: string, key?: string) => fetch(`${base}${path}`, { headers: key ? { 'x-api-key': key } : {} });
    // Response bodies are checked by the assertions themselves (toMatchObject), not by types.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const json = (response: Response): Promise<any> => response.json();
    expect((await get('/v1/accuracy')).status).toBe(401);
    expect((await get('/v1/accuracy', 'wrong')).status).toBe(401);

    const accuracy = await json(await get('/v1/accuracy', API_KEY));
    expect(accuracy.series.find((s: { domain: string }) => s.domain === 'shop.example.com')).toMatchObject({ region: 'eu-west-1', baseline: expect.any(String) });

    const forecast = await get('/v1/domains/shop.example.com/forecasts', API_KEY);
    expect(forecast.status).toBe(200);
    expect((await json(forecast)).regions[0].region).toBe('eu-west-1');
    expect((await get('/v1/domains/unknown.example.com/forecasts', API_KEY)).status).toBe(404);
    expect((await get('/v1/domains/bad_domain!/forecasts', API_KEY)).status).toBe(400);

    const put = (body: unknown) =>
      fetch(`${base}/v1/domains/shop.example.com/profile`, { method: 'PUT', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await put({ appType: 'mainframe', tier: 'pro' });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ code: 'REQUEST_INVALID', issues: [expect.stringContaining('appType')] });
    const good = await put({ appType: 'ssr', tier: 'enterprise', cpuMs: 55 });
    expect(good.status).toBe(200);
    expect((await json(good)).profile).toMatchObject({ appType: 'ssr', tier: 'enterprise', cpuMs: 55 });

    // A refresh applies the new profile: enterprise provisions at p99.
    const refreshed = await fetch(`${base}/v1/domains/shop.example.com/forecasts/refresh`, { method: 'POST', headers: { 'x-api-key': API_KEY } });
    expect(refreshed.status).toBe(200);
    const region = (await json(refreshed)).regions[0];
    expect(region).toMatchObject({ tier: 'enterprise', provisionQuantile: 'p99' });

    const docs = await fetch(`${base}/docs/openapi.json`);
    expect(Object.keys((await json(docs)).paths)).toContain('/v1/domains/{domain}/forecasts');
  });
});
