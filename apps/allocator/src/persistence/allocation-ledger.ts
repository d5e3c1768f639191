import { ResourceNeed } from '@shardcast/contracts';
import { Decision, DomainAllocationState, PoolsView, RegionPool, TierPoolCeiling } from '@shardcast/allocation';
import { DataSource, EntityManager } from 'typeorm';

/** Why a decision was not applied: someone else changed what it was based on; reload and decide again. */
export interface PoolWithCommitted {
  pool: RegionPool;
  committed: ResourceNeed;
}

export type ApplyOutcome = { applied: true } | { applied: false; conflict: 'domain-changed' | 'pool-full'; region?: string };

const need = (r: { cpu: number; memory: number; egress: number }): ResourceNeed => ({ cpuCores: Number(r.cpu), memoryGiB: Number(r.memory), egressMbps: Number(r.egress) });

/**
 * The reservation ledger in PostgreSQL. A decision is applied in one transaction: the domain's row
 * is locked and must be at the version the decision started from, and each pool takes a positive
 * change only through `UPDATE … WHERE committed + delta ≤ capacity × ceiling(tier)`, which
 * PostgreSQL re-checks on the locked row after any concurrent update — so two allocator instances
 * cannot together commit a pool past its capacity (a CHECK constraint is the backstop).
 */
export class AllocationLedger {
  constructor(
    private readonly db: DataSource,
    private readonly schema: string,
  ) {}

  private get s(): string {
    return `"${this.schema}"`;
  }

  /** Creates or updates a pool. Its capacity may not drop below what is committed in it (false then). */
  async upsertPool(pool: RegionPool): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO ${this.s}.pools (region, capacity_cpu, capacity_memory, capacity_egress, pool) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (region) DO UPDATE SET capacity_cpu = excluded.capacity_cpu, capacity_memory = excluded.capacity_memory,
         capacity_egress = excluded.capacity_egress, pool = excluded.pool, updated_at = now()
       WHERE ${this.s}.pools.committed_cpu <= excluded.capacity_cpu AND ${this.s}.pools.committed_memory <= excluded.capacity_memory
         AND ${this.s}.pools.committed_egress <= excluded.capacity_egress
       RETURNING region`,
      [pool.region, pool.capacity.cpuCores, pool.capacity.memoryGiB, pool.capacity.egressMbps, JSON.stringify(pool)],
    );
    return rows.length > 0;
  }

  /** Every pool with what is committed in it, by region. */
  async pools(): Promise<PoolWithCommitted[]> {
    const rows: Array<{ pool: RegionPool; committed_cpu: number; committed_memory: number; committed_egress: number }> = await this.db.query(
      `SELECT pool, committed_cpu, committed_memory, committed_egress FROM ${this.s}.pools ORDER BY region`,
    );
    return rows.map((r) => ({ pool: r.pool, committed: need({ cpu: r.committed_cpu, memory: r.committed_memory, egress: r.committed_egress }) }));
  }

  async pool(region: string): Promise<PoolWithCommitted | null> {
    return (await this.pools()).find((p) => p.pool.region === region) ?? null;
  }

  /** Deletes a pool nothing is reserved in: `in-use` while any domain holds a reservation there. */
  async deletePool(region: string): Promise<'deleted' | 'not-found' | 'in-use'> {
    return this.db.transaction(async (tx) => {
      const locked: unknown[] = await tx.query(`SELECT region FROM ${this.s}.pools WHERE region = $1 FOR UPDATE`, [region]);
      if (locked.length === 0) return 'not-found';
      const held: unknown[] = await tx.query(`SELECT 1 FROM ${this.s}.reservations WHERE region = $1 LIMIT 1`, [region]);
      if (held.length > 0) return 'in-use';
      await tx.query(`DELETE FROM ${this.s}.pools WHERE region = $1`, [region]);
      return 'deleted';
    });
  }

  /** Whether an event was applied already (a redelivery): checked before deciding, and again by `recordProcessed` in the transaction. */
  async isProcessed(eventId: string): Promise<boolean> {
    return (await this.db.query(`SELECT 1 FROM ${this.s}.processed_events WHERE event_id = $1`, [eventId])).length > 0;
  }

  /** Records the event in the decision's transaction; false when another delivery of it got there first. */
  async recordProcessed(tx: EntityManager, eventId: string, domain: string): Promise<boolean> {
    const rows: unknown[] = await tx.query(`INSERT INTO ${this.s}.processed_events (event_id, domain) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`, [eventId, domain]);
    return rows.length > 0;
  }

  /** An outbox row in the decision's transaction (the relay publishes it). */
  async addToOutbox(tx: EntityManager, eventId: string, topic: string, key: string, payload: string): Promise<void> {
    await tx.query(`INSERT INTO ${this.s}.outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING`, [eventId, topic, key, payload]);
  }

  /** Processed-event records older than this are dropped: a redelivery comes within Kafka's retention, not after. */
  async pruneProcessed(olderThanMs: number): Promise<number> {
    const [{ n }]: Array<{ n: number }> = await this.db.query(
      `WITH gone AS (DELETE FROM ${this.s}.processed_events WHERE processed_at < now() - make_interval(secs => $1) RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [olderThanMs / 1000],
    );
    return n;
  }

  /** Domains the periodic tick re-decides: every one not deregistered. */
  async activeDomains(): Promise<string[]> {
    const rows: Array<{ domain: string }> = await this.db.query(`SELECT domain FROM ${this.s}.domain_allocations WHERE NOT (state->>'deregistered')::boolean ORDER BY domain`);
    return rows.map((r) => r.domain);
  }

  async poolsView(): Promise<PoolsView> {
    const rows: Array<{ pool: RegionPool; committed_cpu: number; committed_memory: number; committed_egress: number }> = await this.db.query(
      `SELECT pool, committed_cpu, committed_memory, committed_egress FROM ${this.s}.pools`,
    );
    return {
      pools: new Map(rows.map((r) => [r.pool.region, r.pool])),
      committed: new Map(rows.map((r) => [r.pool.region, need({ cpu: r.committed_cpu, memory: r.committed_memory, egress: r.committed_egress })])),
    };
  }

  /** The domain's state as last applied, or null for a domain never seen. */
  async loadDomain(domain: string): Promise<DomainAllocationState | null> {
    const rows: Array<{ state: DomainAllocationState }> = await this.db.query(`SELECT state FROM ${this.s}.domain_allocations WHERE domain = $1`, [domain]);
    return rows[0]?.state ?? null;
  }

  async reservations(domain: string): Promise<Record<string, ResourceNeed>> {
    const rows: Array<{ region: string; cpu: number; memory: number; egress: number }> = await this.db.query(
      `SELECT region, cpu, memory, egress FROM ${this.s}.reservations WHERE domain = $1`,
      [domain],
    );
    return Object.fromEntries(rows.map((r) => [r.region, need(r)]));
  }

  /**
   * Applies a decision taken from `previous` (the state `loadDomain` gave, or a new domain's):
   * all of it or none of it. `publish`, when given, runs inside the same transaction (the outbox).
   */
  async apply(previous: DomainAllocationState, decision: Decision, publish?: (tx: EntityManager) => Promise<void>): Promise<ApplyOutcome> {
    try {
      return await this.db.transaction(async (tx) => {
        const domain = decision.state.domain;
        const locked: Array<{ version: number }> = await tx.query(`SELECT version FROM ${this.s}.domain_allocations WHERE domain = $1 FOR UPDATE`, [domain]);
        if (locked.length === 0) {
          const inserted = await tx.query(
            `INSERT INTO ${this.s}.domain_allocations (domain, version, state) VALUES ($1, $2, $3) ON CONFLICT (domain) DO NOTHING RETURNING domain`,
            [domain, decision.state.version, JSON.stringify(decision.state)],
          );
          if (previous.version !== 0 || inserted.length === 0) throw new Conflict({ applied: false, conflict: 'domain-changed' });
        } else {
          if (locked[0].version !== previous.version) throw new Conflict({ applied: false, conflict: 'domain-changed' });
          await tx.query(`UPDATE ${this.s}.domain_allocations SET version = $2, state = $3, updated_at = now() WHERE domain = $1`, [domain, decision.state.version, JSON.stringify(decision.state)]);
        }
        // Regions in a fixed order, so two transactions lock pools in the same order (no deadlock).
        for (const change of [...decision.ledger].sort((a, b) => (a.region < b.region ? -1 : 1))) {
          const d = { cpu: change.to.cpuCores - change.from.cpuCores, memory: change.to.memoryGiB - change.from.memoryGiB, egress: change.to.egressMbps - change.from.egressMbps };
          const ceiling = TierPoolCeiling[decision.state.tier];
          // Through a CTE: TypeORM answers a bare UPDATE … RETURNING with [rows, count], a SELECT with its rows.
          const updated: unknown[] = await tx.query(
            `WITH changed AS (UPDATE ${this.s}.pools SET
               committed_cpu = GREATEST(0, committed_cpu + $2::float8), committed_memory = GREATEST(0, committed_memory + $3::float8),
               committed_egress = GREATEST(0, committed_egress + $4::float8), updated_at = now()
             WHERE region = $1
               AND ($2::float8 <= 0 OR committed_cpu + $2::float8 <= capacity_cpu * $5::float8 * (1 + 1e-9) + 1e-9)
               AND ($3::float8 <= 0 OR committed_memory + $3::float8 <= capacity_memory * $5::float8 * (1 + 1e-9) + 1e-9)
               AND ($4::float8 <= 0 OR committed_egress + $4::float8 <= capacity_egress * $5::float8 * (1 + 1e-9) + 1e-9)
             RETURNING region) SELECT region FROM changed`,
            [change.region, d.cpu, d.memory, d.egress, ceiling],
          );
          if (updated.length === 0) throw new Conflict({ applied: false, conflict: 'pool-full', region: change.region });
          if (change.to.cpuCores === 0 && change.to.memoryGiB === 0 && change.to.egressMbps === 0) {
            await tx.query(`DELETE FROM ${this.s}.reservations WHERE domain = $1 AND region = $2`, [domain, change.region]);
          } else {
            await tx.query(
              `INSERT INTO ${this.s}.reservations (domain, region, cpu, memory, egress, plan_version) VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (domain, region) DO UPDATE SET cpu = excluded.cpu, memory = excluded.memory, egress = excluded.egress, plan_version = excluded.plan_version, updated_at = now()`,
              [domain, change.region, change.to.cpuCores, change.to.memoryGiB, change.to.egressMbps, decision.state.version],
            );
          }
        }
        if (publish) await publish(tx);
        return { applied: true } as const;
      });
    } catch (err) {
      if (err instanceof Conflict) return err.outcome;
      throw err;
    }
  }
}

class Conflict extends Error {
  constructor(readonly outcome: ApplyOutcome) {
    super('allocation conflict');
  }
}
