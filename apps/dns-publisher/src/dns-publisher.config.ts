import { resolve } from 'node:path';
import { z } from 'zod';
import { PlatformConfigSchema } from '@shardcast/platform';

const ROOT = resolve(__dirname, '../../../..');
/** A comma-separated list, with its default as the variable would say it. */
const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback)
    .transform((v) => v === 'true' || v === '1');

export const DnsPublisherConfigSchema = PlatformConfigSchema.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3005),
  DNS_PUBLISHER_DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lowercase SQL identifier').default('dns_publisher'),
  /** API keys accepted in the `x-api-key` header, comma-separated. Unset: the API answers 401. */
  DNS_PUBLISHER_API_KEYS: list(''),
  /** Which authoritative server the records go to. */
  DNS_PROVIDER: z.enum(['powerdns', 'knot']).default('powerdns'),
  /** Plan and log every change, apply none. */
  DNS_DRY_RUN: flag('false'),
  /** `sync` creates, updates and deletes what dns-publisher owns; `upsert-only` never deletes. */
  DNS_SYNC_POLICY: z.enum(['sync', 'upsert-only']).default('sync'),
  /** TTL of every record, seconds: short, so a failover reaches clients soon. */
  DNS_TTL: z.coerce.number().int().min(1).max(86_400).default(30),
  /** Shards in each client region's failover order. */
  DNS_TOP_N: z.coerce.number().int().min(1).max(16).default(3),
  /** How often every domain's zone is compared with what is wanted and drift repaired (also once at start-up); 0: never. */
  DNS_RESYNC_INTERVAL_MS: z.coerce.number().int().min(0).default(600_000),
  /** Split client regions between shards as the allocator's capacity plans route their demand (capacity.plan.v1); false: always the closest healthy shard. */
  DNS_CAPACITY_AWARE: flag('true'),
  /** When no shard of a domain is healthy (a domain's own, set through the API, overrides it): `open`, `closed` or `region:<id>`. */
  DNS_FAILURE_POLICY: z
    .string()
    .regex(/^(open|closed|region:[a-z0-9-]{1,32})$/, 'open, closed or region:<region id>')
    .default('open'),
  /** The nameservers of every zone (NS records, SOA primary), comma-separated. */
  DNS_NAMESERVERS: list('ns1.shardcast.example.net,ns2.shardcast.example.net').pipe(z.array(z.string()).min(1)),
  DNS_HOSTMASTER: z.string().default('hostmaster.shardcast.example.net'),
  /** Client subnets → regions (`cidr,region`, data/client-subnets/README.md). */
  DNS_CLIENT_SUBNETS_FILE: z.string().default(resolve(ROOT, 'data/client-subnets/ipv4.csv')),
  DNS_LATENCY_FILE: z.string().default(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json')),
  DNS_REGIONS_FILE: z.string().default(resolve(ROOT, 'data/regions/awsData.js')),
  /** PowerDNS Authoritative's HTTP API and its key (sent as a header, never logged). */
  PDNS_API_URL: z.string().url().default('http://127.0.0.1:8081'),
  PDNS_API_KEY: z.string().default('shardcast-local-api-key'),
  PDNS_SERVER_ID: z.string().default('localhost'),
  /** Knot's state dir (zones/, zones.d/ included by its knot.conf) and control socket: the local stack's by default. */
  KNOT_DIR: z.string().default(resolve(process.env.SHARDCAST_STACK_DIR ?? resolve(ROOT, '.stack'), 'knot')),
  /** Empty: `knot.sock` in KNOT_DIR. */
  KNOT_CONTROL_SOCKET: z.string().default(''),
});

export type DnsPublisherConfig = z.infer<typeof DnsPublisherConfigSchema>;
