import { resolve } from 'node:path';
import { Client } from 'pg';
import { contractTopicSpecs, DEMAND_OBSERVED, DemandForecastEventSchema, DemandObservedEvent, deterministicEventId } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { eventually, kcat, PrivateStack, readyzStatus, ServiceProcess, uniqueName } from '@shardcast/test-stack';

/**
 * The restart tier (*.restart.spec.ts, run serially after the other tiers): the forecaster keeps
 * running while its broker is stopped for 30 s and its PostgreSQL restarted, mid-stream, and
 * recovers by itself: every event recorded once, forecasts published again, ready again. On a
 * broker and a PostgreSQL cluster of the test's own (PrivateStack).
 */
jest.setTimeout(420_000);

const OUTAGE_MS = 30_000;
const STEP_MS = 300_000;
const SERIES = [
  { domain: 'shop.example.com', region: 'eu-west-1' },
  { domain: 'api.example.com', region: 'us-east-1' },
  { domain: 'media.example.com', region: 'ap-south-1' },
];
const POINTS = 2 * 288; // two days of 5-minute buckets per series
const START = Date.UTC(2024, 0, 1);

function observed(domain: string, region: string, startMs: number, requests: number): DemandObservedEvent {
  const bucketStart = new Date(startMs).toISOString();
  const eventId = deterministicEventId(DEMAND_OBSERVED, domain, region, bucketStart, 1);
  return {
    eventId,
    type: DEMAND_OBSERVED,
    occurredAt: new Date().toISOString(),
    producedBy: 'test',
    correlationId: eventId,
    causationId: null,
    payload: { domain, region, bucketStart, bucketSeconds: STEP_MS / 1000, revision: 1, requests, errors: 0, bytes: requests * 4000, latencyMs: { p50: 40, p90: 80, p99: 120, max: 200 }, latencySketch: '' },
  };
}

/** A daily cycle per series, in three parts of event time: before the broker stops, before PostgreSQL restarts, during it. */
function parts(): DemandObservedEvent[][] {
  const third = POINTS / 3;
  return [0, 1, 2].map((p) =>
    SERIES.flatMap(({ domain, region }, s) =>
      Array.from({ length: third }, (_, j) => {
        const i = p * third + j;
        const requests = Math.round(1000 * (s + 1) * (1.5 + Math.sin((2 * Math.PI * i) / 288)) + ((i * 7919) % 97));
        return observed(domain, region, START + i * STEP_MS, requests);
      }),
    ),
  );
}

describe('forecaster recovers by itself', () => {
  let stack: PrivateStack;
  let db: Client;
  let service: ServiceProcess | undefined;
  const prefix = `${uniqueName('fr')}.`;
  const schema = uniqueName('forecaster_r');

  beforeAll(async () => {
    stack = await PrivateStack.start();
    db = new Client({ connectionString: stack.env.DATABASE_URL });
    db.on('error', () => undefined); // its errors reach the queries that hit them
    await db.connect();
  }, 240_000);

  afterAll(async () => {
    await service?.kill('SIGTERM');
    await db?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await db?.end().catch(() => undefined);
    await stack?.stop();
  }, 120_000);

  const produce = (events: DemandObservedEvent[]) =>
    kcat(
      ['-b', stack.env.KAFKA_BROKERS, '-t', `${prefix}demand.observed.v1`, '-P', '-K', '\t', '-z', 'lz4', '-X', 'enable.idempotence=true', '-X', 'linger.ms=20'],
      events.map((e) => `${e.payload.domain}\t${JSON.stringify(e)}`).join('\n') + '\n',
    );
  const recorded = async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS ids, coalesce(sum(requests), 0)::bigint AS requests FROM "${schema}".observed_demand`).catch((err: { code?: string }) => {
      // Before the forecaster has migrated its schema there is nothing to count; any other error fails the test.
      if (err.code === '42P01' || err.code === '3F000') return { rows: [{ n: 0, ids: 0, requests: '0' }] };
      throw err;
    });
    return { n: rows[0].n as number, ids: rows[0].ids as number, requests: Number(rows[0].requests) };
  };

  it('from its broker stopped for 30 s and its PostgreSQL restarted mid-stream: every event recorded once, forecasts published again, ready again', async () => {
    const [first, second, third] = parts();
    const all = [...first, ...second, ...third];
    await ensureTopics(createKafka([stack.env.KAFKA_BROKERS], 'forecaster-restart-test'), contractTopicSpecs(), 3, prefix);
    service = new ServiceProcess(resolve(__dirname, '../dist/src/main.js'), {
      ...stack.env,
      HTTP_PORT: '0',
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_PREFIX: uniqueName('frg'),
      FORECASTER_DB_SCHEMA: schema,
      FORECAST_DEBOUNCE_MS: '2000',
      // Every run publishes: the check below waits for the forecast from the whole series, which
      // publish-when-moved (docs/decisions/0019) may rightly withhold when it moved less than 10 %.
      FORECAST_PUBLISH_MAX_AGE_MS: '0',
      FORECAST_HORIZON_HOURS: '6',
      FORECAST_SELECTION_ORIGINS: '3',
      FORECAST_WORKERS: '1',
    }).start();
    const port = Number((await service.waitForMessage('forecaster ready')).port);
    expect(await readyzStatus(port)).toBe(200);

    // Part one, then the broker goes away for 30 s.
    await produce(first);
    await eventually(recorded, (r) => r.n >= first.length / 4);
    await stack.kafka.down();
    const stoppedAt = Date.now();
    await eventually(() => readyzStatus(port), (s) => s === 503, OUTAGE_MS, 500);
    await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - stoppedAt)));
    await stack.kafka.up();

    // Part two; PostgreSQL restarts while it is being recorded and part three arrives.
    await produce(second);
    await eventually(recorded, (r) => r.n >= first.length + second.length / 4, 180_000);
    const producing = produce(third);
    expect((await recorded()).n).toBeLessThan(all.length); // mid-stream
    db.on('error', () => undefined); // the test's own connection is cut too
    await stack.postgres.restart();
    const old = db;
    db = new Client({ connectionString: stack.env.DATABASE_URL });
    db.on('error', () => undefined); // its errors reach the queries that hit them
    await db.connect();
    await old.end().catch(() => undefined);
    await producing;

    // Every event recorded exactly once.
    const total = all.reduce((s, e) => s + e.payload.requests, 0);
    const done = await eventually(recorded, (r) => r.n >= all.length, 180_000, 500);
    expect(done).toEqual({ n: all.length, ids: all.length, requests: total });

    // Forecasts published again: one per series that saw the whole series, after both outages.
    const complete = new Date(START + POINTS * STEP_MS).toISOString();
    const forecasts = await eventually(
      async () =>
        (await kcat(['-b', stack.env.KAFKA_BROKERS, '-t', `${prefix}demand.forecast.v1`, '-C', '-e', '-q', '-o', 'beginning', '-f', '%s\n']))
          .split('\n')
          .filter(Boolean)
          .map((line) => DemandForecastEventSchema.parse(JSON.parse(line)).payload)
          .flatMap((f) => (f.kind === 'forecast' && f.startAt === complete ? [f] : [])),
      (fs) => new Set(fs.map((f) => `${f.domain}|${f.region}`)).size === SERIES.length,
      180_000,
      1_000,
    );
    expect(new Set(forecasts.map((f) => f.domain))).toEqual(new Set(SERIES.map((s) => s.domain)));
    // Nothing left behind in the outbox, and ready again; the same process all along.
    await eventually(async () => Number((await db.query(`SELECT count(*) AS n FROM "${schema}".outbox`)).rows[0].n), (n) => n === 0, 60_000);
    await eventually(() => readyzStatus(port), (s) => s === 200, 120_000, 500);
    expect(service.logLines().filter((l) => l.msg === 'forecaster ready')).toHaveLength(1);
  });
});
