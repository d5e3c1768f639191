import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { PlatformConfigSchema } from '@shardcast/platform';
import { INGEST_NODE_OPTIONS, IngestConfigSchema } from '../apps/ingest/src';
import { ForecasterConfigSchema } from '../apps/forecaster/src';
import { AllocatorConfigSchema } from '../apps/allocator/src';
import { ShardAssignerConfigSchema } from '../apps/shard-assigner/src';
import { DnsPublisherConfigSchema } from '../apps/dns-publisher/src';
import { MonitorConfigSchema } from '../apps/monitor/src';

/**
 * docker-compose.yml cannot run here (no Docker engine), so this reads it: every variable set on a
 * shardcast service is one that service's config schema reads (and accepts), every service has a
 * /healthz healthcheck, and the stack mirrors the local one (deploy/local/stack.sh).
 */

const root = resolve(__dirname, '..');
const DOCKERFILE = 'deploy/docker/Dockerfile';

const configSchemas: Record<string, z.ZodObject> = {
  ingest: IngestConfigSchema,
  forecaster: ForecasterConfigSchema,
  allocator: AllocatorConfigSchema,
  'shard-assigner': ShardAssignerConfigSchema,
  'dns-publisher': DnsPublisherConfigSchema,
  monitor: MonitorConfigSchema,
};

const ComposeServiceSchema = z.object({
  image: z.string().optional(),
  build: z.object({ context: z.string(), dockerfile: z.string(), args: z.record(z.string(), z.string()).optional() }).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  depends_on: z.union([z.array(z.string()), z.record(z.string(), z.object({ condition: z.string() }))]).optional(),
  healthcheck: z.object({ test: z.union([z.string(), z.array(z.string())]) }).optional(),
});
type ComposeService = z.infer<typeof ComposeServiceSchema>;

const compose = z
  .object({ services: z.record(z.string(), ComposeServiceSchema) })
  .parse(parse(readFileSync(resolve(root, 'docker-compose.yml'), 'utf8'), { merge: true }));
const services = compose.services;

const envOf = (service: ComposeService): Record<string, string> =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
const dependsOn = (service: ComposeService): Record<string, string> =>
  Array.isArray(service.depends_on) ? Object.fromEntries(service.depends_on.map((d) => [d, 'service_started'])) : Object.fromEntries(Object.entries(service.depends_on ?? {}).map(([k, v]) => [k, v.condition]));

const shardcastServices = Object.entries(services).filter(([, s]) => s.build?.dockerfile === DOCKERFILE);
/** What a service reads when nothing is set: the local stack's addresses. */
const localDefaults = PlatformConfigSchema.parse({ HTTP_PORT: '0' });

describe('docker-compose.yml', () => {
  it('runs exactly the six services, each built from the one Dockerfile with its SERVICE', () => {
    expect(shardcastServices.map(([name]) => name).sort()).toEqual(Object.keys(configSchemas).sort());
    for (const [name, service] of shardcastServices) {
      expect({ name, context: service.build?.context, service: service.build?.args?.SERVICE }).toEqual({ name, context: '.', service: name });
    }
    expect(existsSync(resolve(root, DOCKERFILE))).toBe(true);
  });

  describe.each(Object.keys(configSchemas).map((name) => [name]))('%s', (name) => {
    const service = services[name];
    const schema = configSchemas[name];
    const env = envOf(service ?? {});

    it('sets only variables its config schema reads, with values the schema accepts', () => {
      // NODE_OPTIONS is read by Node itself (runtime flags), not by the service's config.
      const unread = Object.keys(env).filter((key) => !(key in schema.shape) && key !== 'NODE_OPTIONS');
      expect(unread).toEqual([]);
      if (name === 'ingest') expect(env.NODE_OPTIONS).toBe(INGEST_NODE_OPTIONS);
      else expect(env.NODE_OPTIONS).toBeUndefined();
      const parsed = schema.safeParse(env);
      expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
    });

    it('has a healthcheck on /healthz at the port it listens on, published on the host', () => {
      const port = z.object({ HTTP_PORT: z.number(), HTTP_HOST: z.string() }).parse(schema.parse(env));
      expect(port.HTTP_HOST).toBe('0.0.0.0');
      const test = [service.healthcheck?.test ?? []].flat().join(' ');
      expect(test).toContain(`http://127.0.0.1:${port.HTTP_PORT}/healthz`);
      expect(service.ports).toContain(`${port.HTTP_PORT}:${port.HTTP_PORT}`);
    });

    it('reaches the stack inside the compose network and waits for it to be healthy', () => {
      const config = PlatformConfigSchema.parse(env);
      expect(config.KAFKA_BROKERS).toEqual(['kafka:19092']);
      expect(new URL(config.DATABASE_URL).hostname).toBe('postgres');
      expect(new URL(config.REDIS_URL).hostname).toBe('redis');
      expect(config.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
      const deps = dependsOn(service);
      expect(deps).toMatchObject({ kafka: 'service_healthy', postgres: 'service_healthy' });
      if (name === 'shard-assigner') expect(deps).toMatchObject({ redis: 'service_healthy' });
    });
  });

  it('refers only to services and files that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const dep of Object.keys(dependsOn(service))) expect({ name, dep, exists: dep in services }).toEqual({ name, dep, exists: true });
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (source.startsWith('./')) expect({ name, source, exists: existsSync(resolve(root, source)) }).toEqual({ name, source, exists: true });
      }
    }
  });

  describe('mirrors the local stack', () => {
    const stackScript = readFileSync(resolve(root, 'deploy/local/stack.sh'), 'utf8');
    const kafkaEnv = envOf(services.kafka);

    it('runs the Kafka version the local stack runs', () => {
      const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(resolve(root, 'deploy/local/kafka/pom.xml'), 'utf8'))?.[1];
      expect(version).toBeDefined();
      expect(services.kafka.image).toBe(`apache/kafka:${version}`);
    });

    it('sets every broker setting of stack.sh that does not depend on host or listener layout', () => {
      const properties = /cat >"\$KAFKA_CONF" <<EOF\n([\s\S]*?)\nEOF/.exec(stackScript)?.[1];
      expect(properties).toBeDefined();
      // Listener names and addresses differ by design: the container also has a host-facing one.
      const layoutDependent = new Set(['listener.security.protocol.map']);
      const settings = properties!
        .split('\n')
        .filter((line) => /^[a-z][a-z0-9.]*=/.test(line) && !line.includes('$'))
        .map((line) => line.split('=') as [string, string])
        .filter(([key]) => !layoutDependent.has(key));
      expect(settings.length).toBeGreaterThan(10);
      for (const [key, value] of settings) {
        const variable = `KAFKA_${key.toUpperCase().replace(/\./g, '_')}`;
        expect({ variable, value: kafkaEnv[variable] }).toEqual({ variable, value });
      }
    });

    it('publishes Kafka, PostgreSQL and Redis where the services look by default', () => {
      const [, kafkaPort] = localDefaults.KAFKA_BROKERS[0].split(':');
      expect(kafkaEnv.KAFKA_ADVERTISED_LISTENERS.split(',')).toContain(`HOST://${localDefaults.KAFKA_BROKERS[0]}`);
      expect(services.kafka.ports).toContain(`${kafkaPort}:${kafkaPort}`);
      const db = new URL(localDefaults.DATABASE_URL);
      expect(services.postgres.ports).toContain(`${db.port}:5432`);
      expect(envOf(services.postgres)).toMatchObject({ POSTGRES_DB: db.pathname.slice(1), POSTGRES_USER: db.username });
      const redis = new URL(localDefaults.REDIS_URL);
      expect(services.redis.ports).toContain(`${redis.port}:6379`);
      for (const [name, service] of shardcastServices) {
        const url = new URL(envOf(service).DATABASE_URL);
        expect({ name, user: url.username, db: url.pathname }).toEqual({ name, user: db.username, db: db.pathname });
      }
    });
  });
});
