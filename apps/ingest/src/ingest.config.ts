import { resolve } from 'node:path';
import { z } from 'zod';
import { PlatformConfigSchema } from '@shardcast/platform';

export const IngestConfigSchema = PlatformConfigSchema.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  INGEST_DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lowercase SQL identifier').default('ingest'),
  INGEST_GROUP_ID: z.string().min(1).optional(),
  /** How far behind a partition's newest event time a record still counts (default 2 min). */
  INGEST_ALLOWED_LATENESS_MS: z.coerce.number().int().min(0).default(120_000),
  /** Records stamped more than this past the wall clock are rejected (default 5 min). */
  INGEST_MAX_FUTURE_SKEW_MS: z.coerce.number().int().min(0).default(300_000),
  /**
   * The consumer of telemetry.requests.v1. `librdkafka`: the native batch consumer
   * (libs/ingest-native, about twice kafkajs's rate with ingest's work; docs/decisions/0001-hot-path-kafka-client.md);
   * `kafkajs`: pure JavaScript; `auto`: librdkafka when its addon is built, else kafkajs with a
   * warning.
   */
  INGEST_KAFKA_CLIENT: z.enum(['auto', 'librdkafka', 'kafkajs']).default('auto'),
  /**
   * Byte scanner for the packed batches of the librdkafka client: `native` (C, libs/ingest-native),
   * `typescript`, or `auto` (native when its addon is built, else TypeScript with a warning). Both
   * answer only for messages the contract schema surely accepts; everything else is decoded in
   * TypeScript alike.
   */
  INGEST_TELEMETRY_SCANNER: z.enum(['auto', 'native', 'typescript']).default('auto'),
  /** librdkafka client: messages per consume call across partitions (a transaction per partition). */
  INGEST_MAX_BATCH_MESSAGES: z.coerce.number().int().min(1).max(1_000_000).default(150_000),
  /** kafkajs client: partitions handled at once (librdkafka handles a batch's partitions together). */
  INGEST_PARTITIONS_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(3),
  /** Smaller fetches mean smaller, more frequent transactions (tests use it to stop mid-stream). */
  INGEST_MAX_BYTES_PER_PARTITION: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  INGEST_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(30_000),
  /** A partition with open buckets and no new batch for this long has them closed and published. */
  INGEST_IDLE_CLOSE_MS: z.coerce.number().int().min(100).default(60_000),
  /**
   * A quiet partition closes only once it has read up to the broker's end offset (a starved
   * process's backlog would turn late), or when that end has not moved for this long (offsets
   * never delivered, such as a transactional producer's commit markers). 0: ten times
   * INGEST_IDLE_CLOSE_MS. See idle-close.ts in libs/telemetry.
   */
  INGEST_IDLE_CLOSE_BACKLOG_MS: z.coerce.number().int().min(0).default(0),
  /**
   * Open (domain, region, minute) buckets a partition holds at most: past it, its least recently
   * touched are closed early as a revision (counts stay exact; a later record of one opens a new
   * share, published as the bucket's next revision). Bounds memory by configuration, whatever the
   * number of domains: about partitions owned × this × 1–3 kB, which V8's old space
   * (`--max-old-space-size`, INGEST_NODE_OPTIONS) must hold (decision 0022, item 4). An evicted
   * bucket touched again costs a merge, so size it above what an allowed-lateness window holds.
   */
  INGEST_MAX_OPEN_BUCKETS: z.coerce.number().int().min(1).default(50_000),
  INGEST_OUTBOX_POLL_MS: z.coerce.number().int().min(50).default(1_000),
  /**
   * Which topics observed demand goes to, comma-separated: `v2` (the default: demand.observed.v2,
   * an event per commit of a source partition, its revisions in chunks; decision 0022), `v1`
   * (demand.observed.v1, an event per bucket revision: off by default since 2026-12-03, its topic
   * kept for consumers that have not moved), or both. The forecaster and allocator read both.
   */
  INGEST_DEMAND_OBSERVED_TOPICS: z
    .string()
    .default('v2')
    .transform((s, ctx) => {
      const names = s.split(',').map((t) => t.trim()).filter(Boolean);
      const unknown = names.filter((t) => t !== 'v1' && t !== 'v2');
      if (names.length === 0 || unknown.length > 0) {
        ctx.addIssue({ code: 'custom', message: `must be v1, v2 or v1,v2${unknown.length > 0 ? ` (not ${unknown.join(', ')})` : ''}` });
        return z.NEVER;
      }
      return { v1: names.includes('v1'), v2: names.includes('v2') };
    }),
  /**
   * Ingest sends the events of each commit itself; the outbox poll sends only rows older than
   * this (their writer died or could not send). Events after a crash wait this long.
   */
  INGEST_OUTBOX_WRITER_GRACE_MS: z.coerce.number().int().min(0).default(5_000),
  /** Days of demand_buckets partitions made ahead of the wall clock (docs/decisions/0023-bounded-demand-history.md). */
  INGEST_HISTORY_CREATE_AHEAD_DAYS: z.coerce.number().int().min(0).max(31).default(2),
  /** A day of minute buckets becomes hourly rows once it is this many days older than the newest day with data. */
  INGEST_HISTORY_ROLLUP_AFTER_DAYS: z.coerce.number().int().min(1).default(7),
  /** Days of history kept (minute or hourly), counted the same way; must exceed the roll-up age. */
  INGEST_HISTORY_RETAIN_DAYS: z.coerce.number().int().min(2).default(90),
  /** How often the history job runs (it also runs at start-up). */
  INGEST_HISTORY_JOB_INTERVAL_MS: z.coerce.number().int().min(1_000).default(3_600_000),
  REGIONS_FILE: z.string().default(resolve(__dirname, '../../../../data/regions/awsData.js')),
  /** Comma-separated region ids to serve; empty: every region in REGIONS_FILE. */
  REGIONS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((r) => r.trim()).filter(Boolean)),
  /** JSON object of edge POP id to coordinates, e.g. {"fra1":{"lat":50.1,"lon":8.68}}. */
  POPS: z
    .string()
    .default('{}')
    .transform((s, ctx) => {
      try {
        return z.record(z.string(), z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) })).parse(JSON.parse(s));
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `POPS must be a JSON object of {"pop":{"lat":..,"lon":..}}: ${(err as Error).message}` });
        return z.NEVER;
      }
    }),
})
  .refine((c) => c.INGEST_HISTORY_RETAIN_DAYS > c.INGEST_HISTORY_ROLLUP_AFTER_DAYS, {
    message: 'INGEST_HISTORY_RETAIN_DAYS must exceed INGEST_HISTORY_ROLLUP_AFTER_DAYS',
    path: ['INGEST_HISTORY_RETAIN_DAYS'],
  })
  .refine((c) => c.INGEST_IDLE_CLOSE_BACKLOG_MS === 0 || c.INGEST_IDLE_CLOSE_BACKLOG_MS >= c.INGEST_IDLE_CLOSE_MS, {
    message: 'INGEST_IDLE_CLOSE_BACKLOG_MS must be 0 (ten times INGEST_IDLE_CLOSE_MS) or at least INGEST_IDLE_CLOSE_MS',
    path: ['INGEST_IDLE_CLOSE_BACKLOG_MS'],
  });

/** The idle close's policy from the configuration (INGEST_IDLE_CLOSE_BACKLOG_MS 0: ten idle windows). */
export function idleClosePolicyOf(c: Pick<IngestConfig, 'INGEST_IDLE_CLOSE_MS' | 'INGEST_IDLE_CLOSE_BACKLOG_MS'>): { idleMs: number; backlogIdleMs: number } {
  return { idleMs: c.INGEST_IDLE_CLOSE_MS, backlogIdleMs: c.INGEST_IDLE_CLOSE_BACKLOG_MS || 10 * c.INGEST_IDLE_CLOSE_MS };
}

/**
 * Node flags ingest runs with (docker-compose.yml sets them as NODE_OPTIONS; the demo and the
 * benchmark start it with them). A 64 MB young generation instead of 16 MB: ingest allocates a few
 * short-lived objects per record, and fewer scavenges cut its CPU per record by 7–13 %. One V8
 * helper thread instead of 4: on 2 cores, ingest's event loop, its scans on libuv's pool,
 * librdkafka and a co-located PostgreSQL and broker were waiting for cores behind 4 GC helpers
 * (with libuv's pool sized to the cores, thread-pool.ts: ~8 % more records/s and 9 % less CPU per
 * record; each about as much alone; bench:ingest, see bench/README.md). On a host with more cores to
 * itself, raise --v8-pool-size towards half of them.
 */
export const INGEST_NODE_OPTIONS = '--max-semi-space-size=64 --v8-pool-size=1 --max-old-space-size=1280';

export type IngestConfig = z.infer<typeof IngestConfigSchema>;
