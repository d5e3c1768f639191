import { z } from 'zod';

/** Settings every service reads. Defaults point at the local stack (`npm run stack:up`). */
export const PlatformConfigSchema = z.object({
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[^\s:]+:\d+$/, 'each broker is host:port')).min(1)),
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/shardcast'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  /** Prefix for this deployment's topics, so tests and tenants can share one cluster. */
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/).default(''),
  KAFKA_GROUP_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/).default('shardcast'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535),
  HTTP_HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
});

export type PlatformConfig = z.infer<typeof PlatformConfigSchema>;

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

/**
 * Parses env once at start-up. A bad value stops the service with a message naming the variable,
 * never a stack trace from deep inside a client library.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(env)';
    const raw = typeof issue.path[0] === 'string' ? env[issue.path[0]] : undefined;
    return `  ${name}=${raw === undefined ? '(unset)' : JSON.stringify(raw)}: ${issue.message}`;
  });
  throw new ConfigError(`CONFIG_INVALID: invalid configuration:\n${lines.join('\n')}`);
}

/** Topic name as deployed: the contract name behind the deployment's prefix. */
export function deployedTopic(config: Pick<PlatformConfig, 'KAFKA_TOPIC_PREFIX'>, topic: string): string {
  return `${config.KAFKA_TOPIC_PREFIX}${topic}`;
}
