import Redis from 'ioredis';

export function createRedis(url: string, keyPrefix = ''): Redis {
  return new Redis(url, { keyPrefix, maxRetriesPerRequest: 3, lazyConnect: true, enableReadyCheck: true });
}
