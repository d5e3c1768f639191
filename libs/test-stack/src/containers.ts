import { execFileSync } from 'node:child_process';

/**
 * For users with Docker: when none of the stack variables is set and a Docker engine answers,
 * the tests run against containers started here (Kafka KRaft, PostgreSQL, Redis) instead of the
 * local stack. Not exercised on this project's CI machines, which have no Docker engine.
 */
export function shouldUseContainers(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.KAFKA_BROKERS || env.DATABASE_URL || env.REDIS_URL || env.SHARDCAST_NO_CONTAINERS) return false;
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

export interface StartedStack {
  env: { KAFKA_BROKERS: string; DATABASE_URL: string; REDIS_URL: string };
  stop(): Promise<void>;
}

export async function startContainers(): Promise<StartedStack> {
  const [{ KafkaContainer }, { PostgreSqlContainer }, { RedisContainer }] = await Promise.all([
    import('@testcontainers/kafka'),
    import('@testcontainers/postgresql'),
    import('@testcontainers/redis'),
  ]);
  const [kafka, postgres, redis] = await Promise.all([
    new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().withEnvironment({ KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' }).start(),
    new PostgreSqlContainer('postgres:15').withDatabase('shardcast').withUsername('postgres').withPassword('postgres').start(),
    new RedisContainer('redis:7').start(),
  ]);
  return {
    env: {
      KAFKA_BROKERS: `${kafka.getHost()}:${kafka.getMappedPort(9093)}`,
      DATABASE_URL: postgres.getConnectionUri(),
      REDIS_URL: redis.getConnectionUrl(),
    },
    stop: async () => {
      await Promise.all([kafka.stop(), postgres.stop(), redis.stop()]);
    },
  };
}
