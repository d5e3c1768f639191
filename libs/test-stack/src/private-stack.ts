import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StackEnv, stackEnv } from './stack-env';

/**
 * A stack of the restart tier's own (`*.restart.spec.ts`): a Kafka broker started by
 * `deploy/local/stack.sh` on free ports with its own state dir, and a PostgreSQL cluster of its
 * own (Debian's postgresql-common, as root). Those tests stop the broker and restart PostgreSQL;
 * on these, they disturb no other test, whoever else uses the machine's stack meanwhile.
 */

/** Runs a command; rejects with its output when it fails or outlives `timeoutMs`. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed (${err.message.split('\n')[0]}):\n${stdout}\n${stderr}`.slice(0, 6000)));
      else resolve(stdout);
    });
  });
}

/** A port nobody listens on right now (the OS's pick). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function repoRoot(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, 'deploy/local/stack.sh'))) return dir;
  throw new Error(`deploy/local/stack.sh not found above ${__dirname}`);
}

export const PRIVATE_CLUSTER = 'restarttest';

/**
 * The tier's own PostgreSQL cluster (`pg_createcluster <ver> restarttest`), created when missing,
 * with trust authentication on the loopback (as the CI machine's main cluster has), and started.
 * The machine's clusters are never touched. Needs root (pg_createcluster, pg_ctlcluster).
 */
export class PrivatePostgres {
  private constructor(
    readonly version: string,
    readonly cluster: string,
    readonly port: number,
  ) {}

  static async ensure(cluster = PRIVATE_CLUSTER): Promise<PrivatePostgres> {
    if (process.getuid?.() !== 0) {
      throw new Error(
        `the restart tier (*.restart.spec.ts) needs root: it creates, restarts and drops its own PostgreSQL cluster "${cluster}" ` +
          `with pg_createcluster/pg_ctlcluster. Run it as root (CI does), or run the other tiers alone: npx jest --selectProjects unit int e2e`,
      );
    }
    const clusters = await listClusters();
    const version = clusters.find((c) => c.cluster === 'main')?.version ?? newest((await run('ls', ['/usr/lib/postgresql'])).split('\n').filter(Boolean));
    if (!version) throw new Error('no PostgreSQL server found (apt-get install -y postgresql)');
    let found = clusters.find((c) => c.cluster === cluster && c.version === version);
    if (!found) {
      const port = await freePort();
      await run('pg_createcluster', ['--start-conf', 'manual', '-p', String(port), version, cluster]);
      found = { version, cluster, port, online: false };
    }
    // Idempotent: trust on the unix socket and the loopback only, like the machine's main cluster.
    writeFileSync(
      `/etc/postgresql/${version}/${cluster}/pg_hba.conf`,
      '# Written by libs/test-stack/src/private-stack.ts for the restart tier.\nlocal all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n',
    );
    const pg = new PrivatePostgres(version, cluster, found.port);
    if (!found.online) await pg.ctl('start');
    else await pg.ctl('reload');
    await pg.waitReady();
    await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', pg.url('postgres'), '-c', 'SELECT 1']);
    const exists = (await run('psql', ['-X', '-tA', '-d', pg.url('postgres'), '-c', "SELECT 1 FROM pg_database WHERE datname = 'shardcast'"])).trim();
    if (exists !== '1') await run('psql', ['-X', '-q', '-d', pg.url('postgres'), '-c', 'CREATE DATABASE shardcast']);
    return pg;
  }

  url(database = 'shardcast'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** `pg_ctlcluster <ver> <cluster> restart`: a fast shutdown (every connection cut), then a start. */
  async restart(): Promise<void> {
    await this.ctl('restart');
    await this.waitReady();
  }

  async stop(): Promise<void> {
    await this.ctl('stop');
  }

  /** Stops and removes the cluster (its data and configuration). */
  async drop(): Promise<void> {
    await run('pg_dropcluster', ['--stop', this.version, this.cluster]);
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await run('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(this.port)], {}, 10_000);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private async ctl(action: 'start' | 'stop' | 'restart' | 'reload'): Promise<void> {
    // Not through systemd: CI containers have none, and the cluster is the test's, not a service.
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', this.version, this.cluster, action]);
  }
}

async function listClusters(): Promise<Array<{ version: string; cluster: string; port: number; online: boolean }>> {
  const out = await run('pg_lsclusters', ['--no-header']);
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 4)
    .map(([version, cluster, port, status]) => ({ version, cluster, port: Number(port), online: status.startsWith('online') }));
}

function newest(versions: string[]): string | undefined {
  return versions.sort((a, b) => Number(a) - Number(b)).at(-1);
}

/**
 * A broker of the test's own: `deploy/local/stack.sh up|down` with its own state dir
 * (SHARDCAST_STACK_DIR) and free broker and controller ports. `down` then `up` keeps the data
 * dir, so topics, records and committed offsets survive, as on a real broker restart.
 */
export class PrivateKafka {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly controllerPort: number,
    private readonly databaseUrl: string,
  ) {}

  static async create(databaseUrl: string): Promise<PrivateKafka> {
    const dir = mkdtempSync(join(tmpdir(), 'shardcast-restart-'));
    // The shared stack's Kafka classpath saves a Maven run; stack.sh re-resolves it if it is stale.
    const shared = join(process.env.SHARDCAST_STACK_DIR ?? join(repoRoot(), '.stack'), 'kafka');
    if (existsSync(join(shared, 'classpath.txt')) && existsSync(join(shared, 'classpath.pom.sha256'))) {
      mkdirSync(join(dir, 'kafka'), { recursive: true });
      for (const f of ['classpath.txt', 'classpath.pom.sha256']) copyFileSync(join(shared, f), join(dir, 'kafka', f));
    }
    let port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    return new PrivateKafka(dir, port, controllerPort, databaseUrl);
  }

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  up(): Promise<string> {
    return this.stack('up');
  }

  down(): Promise<string> {
    return this.stack('down');
  }

  /** Stops the broker and deletes its state dir. */
  async destroy(): Promise<void> {
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private stack(command: 'up' | 'down'): Promise<string> {
    return run('bash', [join(repoRoot(), 'deploy/local/stack.sh'), command], {
      SHARDCAST_STACK_DIR: this.dir,
      KAFKA_PORT: String(this.port),
      KAFKA_CONTROLLER_PORT: String(this.controllerPort),
      // Topics stack.sh creates, and the database it checks, are this stack's.
      KAFKA_BROKERS: this.brokers,
      DATABASE_URL: this.databaseUrl,
      KAFKA_HEAP_OPTS: '-Xms256m -Xmx512m',
    });
  }
}

/** The two together, as the services see them: pass `env` where a test would use stackEnv(). */
export class PrivateStack {
  private constructor(
    readonly kafka: PrivateKafka,
    readonly postgres: PrivatePostgres,
  ) {}

  static async start(): Promise<PrivateStack> {
    const postgres = await PrivatePostgres.ensure();
    const kafka = await PrivateKafka.create(postgres.url());
    await kafka.up();
    return new PrivateStack(kafka, postgres);
  }

  get env(): StackEnv {
    // The DNS servers are the shared stack's (stack.sh leaves them alone for a private state dir).
    return { ...stackEnv(), KAFKA_BROKERS: this.kafka.brokers, DATABASE_URL: this.postgres.url(), REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' };
  }

  /** Stops the broker (its state dir removed) and drops the cluster; KEEP_RESTART_STACK=1 keeps both for a look. */
  async stop(): Promise<void> {
    if (process.env.KEEP_RESTART_STACK) {
      await this.kafka.down();
      return;
    }
    await this.kafka.destroy();
    await this.postgres.drop();
  }
}

/** GET /readyz on a service's HTTP port: its status code (0 when nothing answers). */
export async function readyzStatus(port: number): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) });
    await response.text();
    return response.status;
  } catch {
    return 0;
  }
}
