import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where the tests find the real services: env vars, defaulting to `npm run stack:up`'s stack. */
export interface StackEnv {
  KAFKA_BROKERS: string;
  DATABASE_URL: string;
  REDIS_URL: string;
  /** PowerDNS Authoritative's HTTP API (zones, rrsets), e.g. `${PDNS_API_URL}/api/v1/servers/localhost/zones`. */
  PDNS_API_URL: string;
  /** Sent as the `X-API-Key` header. */
  PDNS_API_KEY: string;
  /** PowerDNS's DNS port on 127.0.0.1 (UDP and TCP); a string like every value here, so the env spreads into a process env. */
  PDNS_DNS_PORT: string;
  /** Knot DNS's port on 127.0.0.1 (UDP and TCP). */
  KNOT_DNS_PORT: string;
  /**
   * Knot's state dir: zone files go to `zones/<zone>.zone` (geoip subnet maps beside them), each
   * zone's config to `zones.d/<zone>.conf` (included by the generated knot.conf); then `knotc reload`.
   */
  KNOT_DIR: string;
  /** For `knotc -s <socket> reload` (and zone-status, zone-reload). */
  KNOT_CONTROL_SOCKET: string;
}

/**
 * The same variables the services read. On a machine with a Docker engine and none of them set,
 * `scripts/test.sh` may start containers first; here (no Docker) it starts the local stack.
 */
export function stackEnv(env: NodeJS.ProcessEnv = process.env): StackEnv {
  const knotDir = env.KNOT_DIR ?? join(stackDir(env), 'knot');
  return {
    KAFKA_BROKERS: env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    DATABASE_URL: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/shardcast',
    REDIS_URL: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    ...dnsServersEnv(env, knotDir),
  };
}

// Defaults match deploy/local/stack.sh's.
function dnsServersEnv(env: NodeJS.ProcessEnv, knotDir: string) {
  return {
    PDNS_API_URL: env.PDNS_API_URL ?? `http://127.0.0.1:${env.PDNS_API_PORT ?? '8081'}`,
    PDNS_API_KEY: env.PDNS_API_KEY ?? 'shardcast-local-api-key',
    PDNS_DNS_PORT: port(env, 'PDNS_DNS_PORT', 5300),
    KNOT_DNS_PORT: port(env, 'KNOT_DNS_PORT', 5301),
    KNOT_DIR: knotDir,
    KNOT_CONTROL_SOCKET: env.KNOT_CONTROL_SOCKET ?? join(knotDir, 'knot.sock'),
  };
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return String(fallback);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name}=${raw} is not a port`);
  return String(n);
}

/** stack.sh's state dir: SHARDCAST_STACK_DIR, else `.stack` at the root of this checkout. */
function stackDir(env: NodeJS.ProcessEnv): string {
  if (env.SHARDCAST_STACK_DIR) return env.SHARDCAST_STACK_DIR;
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'deploy/local/stack.sh'))) return join(dir, '.stack');
  }
  throw new Error(`deploy/local/stack.sh not found above ${__dirname}; set SHARDCAST_STACK_DIR or KNOT_DIR`);
}

/** A name no other test (or earlier run) uses: each test owns its topics, schema and group. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}
