import { randomBytes } from 'node:crypto';

/** Where the tests find the real services: env vars, defaulting to `npm run stack:up`'s stack. */
export interface StackEnv {
  KAFKA_BROKERS: string;
  DATABASE_URL: string;
  REDIS_URL: string;
}

/**
 * The same variables the services read. On a machine with a Docker engine and none of them set,
 * `scripts/test.sh` may start containers first; here (no Docker) it starts the local stack.
 */
export function stackEnv(env: NodeJS.ProcessEnv = process.env): StackEnv {
  return {
    KAFKA_BROKERS: env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    DATABASE_URL: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/shardcast',
    REDIS_URL: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
}

/** A name no other test (or earlier run) uses: each test owns its topics, schema and group. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}
