import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each domain's latest capacity plan routing (capacity.plan.v1 `servedByOrigin`: origin → serving
 * region → requests per second): what capacity-aware answers split client regions by.
 */
export class CreatePlanRouting1764900000000 implements MigrationInterface {
  name = 'CreatePlanRouting1764900000000';

  async up(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'dns_publisher';
    await q.query(`CREATE TABLE "${s}".plan_routing (domain text PRIMARY KEY, version integer NOT NULL, routing jsonb NOT NULL, event_id text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = q.connection.driver.schema ?? 'dns_publisher';
    await q.query(`DROP TABLE "${s}".plan_routing`);
  }
}
