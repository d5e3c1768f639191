import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What dns-publisher knows and did: each domain's latest layout and failure policy, each shard's
 * latest health, the records it owns per provider (the ownership registry: it never touches a
 * record that is not here), and every change it applied (the audit).
 */
export class CreateDnsState1764700000000 implements MigrationInterface {
  name = 'CreateDnsState1764700000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'dns_publisher';
    await q.query(`CREATE TABLE "${s}".layouts (domain text PRIMARY KEY, version integer NOT NULL, layout jsonb, event_id text NOT NULL, decisions jsonb, updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE TABLE "${s}".shard_health (hostname text PRIMARY KEY, domain text NOT NULL, status text NOT NULL, window_start timestamptz NOT NULL, event_id text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX shard_health_domain ON "${s}".shard_health (domain)`);
    await q.query(`CREATE TABLE "${s}".domain_policies (domain text PRIMARY KEY, failure jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE TABLE "${s}".owned_records (provider text NOT NULL, zone text NOT NULL, key text NOT NULL, PRIMARY KEY (provider, zone, key))`);
    // Zones dns-publisher created: only those may it delete (when nothing foreign is left in them).
    await q.query(`CREATE TABLE "${s}".created_zones (provider text NOT NULL, zone text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (provider, zone))`);
    await q.query(`CREATE TABLE "${s}".audit (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      provider text NOT NULL,
      zone text NOT NULL,
      layout_version integer,
      event_id text,
      action text NOT NULL,
      key text NOT NULL,
      before jsonb,
      after jsonb)`);
    await q.query(`CREATE INDEX audit_zone ON "${s}".audit (zone, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'dns_publisher';
    for (const t of ['audit', 'created_zones', 'owned_records', 'domain_policies', 'shard_health', 'layouts']) await q.query(`DROP TABLE "${s}".${t}`);
  }
}
