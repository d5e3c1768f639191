import { randomBytes } from 'node:crypto';
import { Controller, DynamicModule, INestApplication, Module, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { DEAD_LETTER_MAX_MESSAGE_BYTES } from '@shardcast/contracts';
import { eventually, kcat, stackEnv, uniqueName } from '@shardcast/test-stack';
import { ContractEventGate, createKafka, createLogger, ensureTopics, PlatformConfigSchema, ServiceInfraModule } from '@shardcast/platform';
// Not exported: services start through runService; the test needs the app it returns.
import { bootstrapService } from '../src/service-bootstrap';

jest.setTimeout(120_000);

const env = stackEnv();
const prefix = `${uniqueName('gate')}.`;
const schema = uniqueName('platform_gate_test');
const group = uniqueName('gate-group');
const TOPIC = 'gate.events.v1';

const TestEventSchema = z.object({ value: z.string() });

/** A service whose handler stores each event's value: PostgreSQL refuses a NUL byte in text. */
function testModule(topic: string): DynamicModule {
  @Controller()
  class StoringHandler {
    constructor(
      private readonly gate: ContractEventGate,
      private readonly db: DataSource,
    ) {}

    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(TestEventSchema, context, async (event) => {
        await this.db.query(`INSERT INTO "${schema}".stored (value) VALUES ($1)`, [event.value]);
      });
    }
  }
  @Module({})
  class GateTestModule {}
  return {
    module: GateTestModule,
    imports: [ServiceInfraModule.forService({ clientId: 'gate-test', brokers: env.KAFKA_BROKERS.split(','), databaseUrl: env.DATABASE_URL, schema, migrations: [] })],
    controllers: [StoringHandler as Type<unknown>],
  };
}

describe('ContractEventGate on the real broker and database: one bad message never stops a partition', () => {
  const kafka = createKafka(env.KAFKA_BROKERS.split(','), 'gate-test');
  let app: INestApplication;
  let db: DataSource;
  const huge = `{"value":"${randomBytes(4_500_000).toString('base64')}`; // not JSON (unterminated), ~6 MB that gzip cannot shrink below 4 MiB

  beforeAll(async () => {
    // The source topic takes messages far larger than its dead-letter twin does.
    await ensureTopics(kafka, [{ name: TOPIC, compacted: false, maxMessageBytes: 16 * 1024 * 1024 }, { name: `${TOPIC}.dlq`, compacted: false, maxMessageBytes: DEAD_LETTER_MAX_MESSAGE_BYTES }], 1, prefix);
    const config = PlatformConfigSchema.parse({ ...env, HTTP_PORT: '0', KAFKA_TOPIC_PREFIX: prefix, LOG_LEVEL: 'error' });
    app = await bootstrapService({ name: 'gate-test', module: testModule(prefix + TOPIC), config, logger: createLogger('gate-test', 'error'), kafkaGroupId: group });
    db = app.get(DataSource);
    await db.query(`CREATE TABLE "${schema}".stored (id serial PRIMARY KEY, value text NOT NULL)`);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (const value of ['{"value":"a"}', JSON.stringify({ value: 'b\u0000' }), '{"value":"c"}', huge, '{"value":"d"}']) {
      await producer.send({ topic: prefix + TOPIC, messages: [{ key: 'k', value }] });
    }
    await producer.disconnect();
  });

  afterAll(async () => {
    await app?.close();
    const cleanup = await new DataSource({ type: 'postgres', url: env.DATABASE_URL }).initialize();
    await cleanup.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await cleanup.destroy();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [prefix + TOPIC, `${prefix}${TOPIC}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('stores every valid event, also those behind an unprocessable and an oversized one', async () => {
    const stored = await eventually(async () => (await db.query(`SELECT value FROM "${schema}".stored ORDER BY id`)) as Array<{ value: string }>, (rows) => rows.length >= 3, 60_000);
    expect(stored.map((r) => r.value)).toEqual(['a', 'c', 'd']);
  });

  it("dead-letters the event the database refuses after bounded retries, with the database's reason and the group", async () => {
    const dlq = await eventually(
      () => kcat(['-b', env.KAFKA_BROKERS, '-t', `${prefix}${TOPIC}.dlq`, '-C', '-e', '-q', '-o', 'beginning', '-f', '%o|%h\n']),
      (out) => out.includes('EVENT_UNPROCESSABLE'),
      60_000,
    );
    const rows = dlq.split('\n').filter(Boolean);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/x-error-code=EVENT_UNPROCESSABLE/);
    expect(rows[0]).toMatch(/x-error-reason=failed 5 times: 22021: invalid byte sequence for encoding "UTF8": 0x00/);
    expect(rows[0]).toMatch(new RegExp(`x-consumer-group=${group}`));
    expect(rows[0]).toMatch(/x-source-offset=1(,|$)/);
    expect(rows[0]).toMatch(/x-dead-letter-id=[0-9a-f-]{36}/);
  });

  it('quarantines a dead letter its topic refuses as too large, with the reason and where it came from', async () => {
    const rows = await eventually(
      async () => (await db.query(`SELECT source_offset, error_code, quarantine_reason, value_bytes, consumer_group FROM "${schema}".quarantined_messages`)) as Array<Record<string, string>>,
      (r) => r.length >= 1,
      60_000,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ source_offset: '3', error_code: 'EVENT_INVALID', value_bytes: String(huge.length), consumer_group: group });
    expect(rows[0].quarantine_reason).toMatch(/dead-letter topic refused it/);
  });

  it('is ready again once no partition is failing', async () => {
    const address = app.getHttpServer().address() as { port: number };
    const ready = await eventually(async () => (await fetch(`http://127.0.0.1:${address.port}/readyz`)).status, (s) => s === 200, 30_000);
    expect(ready).toBe(200);
  });
});
