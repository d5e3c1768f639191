import { availableParallelism } from 'node:os';

/**
 * libuv's pool runs ingest's C scans, which are CPU-bound: more pool threads than cores only make
 * them, V8's helpers and a co-located PostgreSQL and broker take turns on the same cores (on 2
 * cores, 2 threads instead of libuv's 4 and one V8 helper instead of 4, INGEST_NODE_OPTIONS:
 * ~8 % more records/s in bench:ingest, each about as much alone). libuv reads UV_THREADPOOL_SIZE
 * when the pool starts, so this runs before anything uses it (first import of main.ts); a value
 * set by the operator wins. availableParallelism() follows CPU affinity, not a container's CPU
 * quota: set UV_THREADPOOL_SIZE under a quota.
 */
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(1, Math.min(4, availableParallelism())));
