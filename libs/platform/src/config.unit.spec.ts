import fc from 'fast-check';
import { z } from 'zod';
import { ConfigError, deployedTopic, loadConfig, PlatformConfigSchema } from './config';

const withPort = PlatformConfigSchema.extend({ HTTP_PORT: PlatformConfigSchema.shape.HTTP_PORT.default(3000) });

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('starts with no env at all, pointing at the local stack', () => {
    const config = loadConfig(withPort, {});
    expect(config).toMatchObject({
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/shardcast',
      REDIS_URL: 'redis://127.0.0.1:6379',
      KAFKA_TOPIC_PARTITIONS: 6,
      KAFKA_TOPIC_PREFIX: '',
      HTTP_PORT: 3000,
      LOG_LEVEL: 'info',
    });
  });

  it('parses and coerces values from env strings', () => {
    const config = loadConfig(withPort, { KAFKA_BROKERS: ' k1:9092 , k2:19092,', KAFKA_TOPIC_PARTITIONS: '12', HTTP_PORT: '8080', KAFKA_TOPIC_PREFIX: 'test-1.' });
    expect(config.KAFKA_BROKERS).toEqual(['k1:9092', 'k2:19092']);
    expect(config.KAFKA_TOPIC_PARTITIONS).toBe(12);
    expect(config.HTTP_PORT).toBe(8080);
    expect(deployedTopic(config, 'demand.observed.v1')).toBe('test-1.demand.observed.v1');
  });

  it.each([
    ['KAFKA_TOPIC_PARTITIONS', 'abc'],
    ['KAFKA_TOPIC_PARTITIONS', '0'],
    ['KAFKA_TOPIC_PARTITIONS', '1.5'],
    ['HTTP_PORT', '70000'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', '::'],
    ['LOG_LEVEL', 'verbose'],
    ['KAFKA_TOPIC_PREFIX', 'has space'],
    ['KAFKA_BROKERS', 'no-port-here'],
    ['KAFKA_BROKERS', ' , '],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector'],
  ])('names %s and its value when it is %j', (name, value) => {
    const error = configErrorOf(() => loadConfig(withPort, { [name]: value }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/^CONFIG_INVALID: /);
    expect(error.message).toContain(`  ${name}`);
    expect(error.message).toContain(JSON.stringify(value));
  });

  it('names a required variable that is unset', () => {
    const error = configErrorOf(() => loadConfig(PlatformConfigSchema, {}));
    expect(error.message).toMatch(/HTTP_PORT=\(unset\)/);
  });

  it('names every bad variable, not only the first', () => {
    const error = configErrorOf(() => loadConfig(withPort, { LOG_LEVEL: 'loud', HTTP_PORT: '-1' }));
    expect(error.message).toContain('LOG_LEVEL="loud"');
    expect(error.message).toContain('HTTP_PORT="-1"');
  });

  it('property: for any schema field and any invalid value, the message names the field', () => {
    const schema = z.object({ SOME_COUNT: z.coerce.number().int().min(1), SOME_MODE: z.enum(['a', 'b']) });
    fc.assert(
      fc.property(fc.constantFrom('SOME_COUNT', 'SOME_MODE'), fc.string().filter((s) => !['a', 'b'].includes(s) && !(Number.isInteger(Number(s)) && Number(s) >= 1)), (name, value) => {
        const env = { SOME_COUNT: '1', SOME_MODE: 'a', [name]: value };
        const error = configErrorOf(() => loadConfig(schema, env));
        expect(error.message).toContain(`${name}=${JSON.stringify(value)}`);
      }),
    );
  });

  it('reads process.env when no env is passed', () => {
    const schema = z.object({ SHARDCAST_UNIT_TEST_ONLY: z.string().default('default') });
    expect(loadConfig(schema)).toEqual({ SHARDCAST_UNIT_TEST_ONLY: process.env.SHARDCAST_UNIT_TEST_ONLY ?? 'default' });
  });
});
