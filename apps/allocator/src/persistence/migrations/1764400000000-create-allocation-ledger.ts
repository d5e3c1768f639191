import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The reservation ledger: pools with what is committed in each, one reservation row per (domain,
 * region), and each domain's allocation state (what `decide` folds events into).
 */
export class CreateAllocationLedger1764400000000 implements MigrationInterface {
  name = 'CreateAllocationLedger1764400000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'allocator';
    // The CHECK is the backstop under the ledger's conditional update (tolerance: float sums of deltas).
    await q.query(`CREATE TABLE "${s}".pools (
      region text PRIMARY KEY,
      capacity_cpu double precision NOT NULL CHECK (capacity_cpu >= 0),
      capacity_memory double precision NOT NULL CHECK (capacity_memory >= 0),
      capacity_egress double precision NOT NULL CHECK (capacity_egress >= 0),
      committed_cpu double precision NOT NULL DEFAULT 0,
      committed_memory double precision NOT NULL DEFAULT 0,
      committed_egress double precision NOT NULL DEFAULT 0,
      pool jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (committed_cpu <= capacity_cpu * (1 + 1e-9) + 1e-9),
      CHECK (committed_memory <= capacity_memory * (1 + 1e-9) + 1e-9),
      CHECK (committed_egress <= capacity_egress * (1 + 1e-9) + 1e-9))`);
    await q.query(`CREATE TABLE "${s}".reservations (
      domain text NOT NULL,
      region text NOT NULL REFERENCES "${s}".pools (region),
      cpu double precision NOT NULL,
      memory double precision NOT NULL,
      egress double precision NOT NULL,
      plan_version integer NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (domain, region))`);
    await q.query(`CREATE TABLE "${s}".domain_allocations (domain text PRIMARY KEY, version integer NOT NULL, state jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'allocator';
    for (const t of ['domain_allocations', 'reservations', 'pools']) await q.query(`DROP TABLE "${s}".${t}`);
  }
}
