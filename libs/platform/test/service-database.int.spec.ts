import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { createServiceDataSource, openServiceDatabase } from '@shardcast/platform';

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
    expect(applied).toEqual([{ name: 'CreateTables1700000000000' }]);
  });
});
