import { Client, Pool, PoolClient } from 'pg';
import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { createServiceDataSource, openServiceDatabase } from '@shardcast/platform';
import { ListeningClient } from '../src/database';

const schema = uniqueName('platform_db_test');

class CreateTables1700000000000 implements MigrationInterface {
  name = 'CreateTables1700000000000';
  async up(q: QueryRunner): Promise<void> {
    // A table and a view also create row types: concurrent creators collide on pg_type.
    await q.query(`CREATE TABLE "${schema}".things (id int PRIMARY KEY, name text NOT NULL)`);
    await q.query(`CREATE VIEW "${schema}".thing_names AS SELECT name FROM "${schema}".things`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW "${schema}".thing_names`);
    await q.query(`DROP TABLE "${schema}".things`);
  }
}

describe('openServiceDatabase (real PostgreSQL)', () => {
  const sources: DataSource[] = [];
  afterAll(async () => {
    await sources[0]?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await Promise.all(sources.map((s) => (s.isInitialized ? s.destroy() : undefined)));
  });

  it('lets several instances of a service start at once on a fresh schema: one migrates, none fails', async () => {
    const { DATABASE_URL } = stackEnv();
    for (let i = 0; i < 4; i++) sources.push(createServiceDataSource({ url: DATABASE_URL, schema, migrations: [CreateTables1700000000000], poolSize: 2 }));
    const results = await Promise.allSettled(sources.map((s) => openServiceDatabase(s, schema)));
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok']);
    const applied = await sources[0].query(`SELECT name FROM "${schema}"."${schema}_migrations"`);
    expect(applied).toEqual([{ name: 'CreateTables1700000000000' }, { name: 'CreateQuarantine1764800000000' }]);
  });

  it('waits for an instance that is migrating, says so in the log, and goes on once it is done', async () => {
    const { DATABASE_URL } = stackEnv();
    const holder = new Client({ connectionString: DATABASE_URL });
    await holder.connect();
    try {
      const other = uniqueName('platform_db_wait');
      await holder.query('SELECT pg_advisory_lock(hashtext($1))', [`shardcast:migrations:${other}`]);
      let sawWaiting!: () => void;
      const waiting = new Promise<void>((resolve) => (sawWaiting = resolve));
      const logged: Array<[Record<string, unknown>, string]> = [];
      const logger = { info: (fields: Record<string, unknown>, msg: string) => (logged.push([fields, msg]), sawWaiting()) };
      const source = createServiceDataSource({ url: DATABASE_URL, schema: other, migrations: [], poolSize: 2 });
      sources.push(source);
      const opening = openServiceDatabase(source, other, logger as never);
      await waiting;
      expect(logged[0]).toEqual([{ schema: other, waitedMs: expect.any(Number) }, 'waiting for another instance to finish migrating']);
      await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [`shardcast:migrations:${other}`]);
      await expect(opening).resolves.toBe(source);
      await source.query(`DROP SCHEMA IF EXISTS "${other}" CASCADE`);
    } finally {
      await holder.end();
    }
  }, 30_000); // the first 'waiting' line comes after 5 s

  it('survives PostgreSQL cutting a connection that is checked out with nobody listening: the client is dropped, the pool goes on', async () => {
    const { DATABASE_URL } = stackEnv();
    const source = createServiceDataSource({ url: DATABASE_URL, schema: uniqueName('platform_db_cut'), migrations: [], poolSize: 2 });
    sources.push(source);
    await source.initialize();
    // Checked out straight from the pool: the state TypeORM's client is in for a microtask, between
    // pg-pool's handing it out and TypeORM's listening. With pg's own Client this crashes the process.
    const pool = (source.driver as unknown as { master: Pool }).master;
    const client: PoolClient = await pool.connect();
    try {
      expect(client).toBeInstanceOf(ListeningClient);
      const [{ pid }] = (await client.query('SELECT pg_backend_pid() AS pid')).rows;
      const unheard = ListeningClient.unheardErrors;
      const ended = new Promise<void>((resolve) => client.once('end', resolve));
      await source.query('SELECT pg_terminate_backend($1)', [pid]); // PostgreSQL sends 57P01 and closes
      await ended;
      expect(ListeningClient.unheardErrors).toBeGreaterThan(unheard);
      await expect(client.query('SELECT 1')).rejects.toThrow();
    } finally {
      client.release(new Error('cut')); // never back into the pool
    }
    expect(await source.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
