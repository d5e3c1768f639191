import { DataSource, EntityManager } from 'typeorm';
import { ShardAssigned } from '@shardcast/contracts';
import { Change, ClientDecision, FailurePolicy, PlannedRouting, ShardHealth } from '@shardcast/dns';

/**
 * dns-publisher's PostgreSQL: latest layouts and health (what the records are computed from), the
 * failure policy per domain, the ownership registry and the audit. `withDomainLock` serialises
 * everything that recomputes one domain (a layout and a health event may arrive together).
 */
export class DnsStore {
  constructor(
    private readonly db: DataSource,
    private readonly schema: string,
  ) {}

  private get s(): string {
    return `"${this.schema}"`;
  }

  /** Runs `work` in a transaction holding the domain's advisory lock. */
  withDomainLock<T>(domain: string, work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`dns-publisher:${this.schema}:${domain}`]);
      return work(tx);
    });
  }

  /** Stores a layout if newer than the one held (null layout: the domain was deleted); false when older or equal. */
  async putLayout(tx: EntityManager, domain: string, version: number, layout: ShardAssigned | null, eventId: string): Promise<boolean> {
    const rows: unknown[] = await tx.query(
      `INSERT INTO ${this.s}.layouts (domain, version, layout, event_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (domain) DO UPDATE SET version = excluded.version, layout = excluded.layout, event_id = excluded.event_id, updated_at = now()
       WHERE ${this.s}.layouts.version < excluded.version RETURNING domain`,
      [domain, version, layout === null ? null : JSON.stringify(layout), eventId],
    );
    return rows.length > 0;
  }

  /** Every domain with a layout held (what a resync visits). */
  async domains(): Promise<string[]> {
    const rows: Array<{ domain: string }> = await this.db.query(`SELECT domain FROM ${this.s}.layouts ORDER BY domain`);
    return rows.map((r) => r.domain);
  }

  /** A tombstone: the domain's layout is gone, whatever its version. */
  async deleteLayout(tx: EntityManager, domain: string): Promise<void> {
    await tx.query(`DELETE FROM ${this.s}.layouts WHERE domain = $1`, [domain]);
  }

  async layout(tx: EntityManager | DataSource, domain: string): Promise<{ version: number; layout: ShardAssigned | null; eventId: string } | null> {
    const rows: Array<{ version: number; layout: ShardAssigned | null; event_id: string }> = await tx.query(`SELECT version, layout, event_id FROM ${this.s}.layouts WHERE domain = $1`, [domain]);
    return rows[0] ? { version: rows[0].version, layout: rows[0].layout, eventId: rows[0].event_id } : null;
  }

  /** Stores a plan's routing if its version is newer than the one held; returns the routing held before (null: none), or false when not newer. */
  async putRouting(tx: EntityManager, domain: string, version: number, routing: PlannedRouting, eventId: string): Promise<PlannedRouting | null | false> {
    const before = await this.routing(tx, domain);
    const rows: unknown[] = await tx.query(
      `INSERT INTO ${this.s}.plan_routing (domain, version, routing, event_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (domain) DO UPDATE SET version = excluded.version, routing = excluded.routing, event_id = excluded.event_id, updated_at = now()
       WHERE ${this.s}.plan_routing.version < excluded.version RETURNING domain`,
      [domain, version, JSON.stringify(Object.fromEntries([...routing].map(([origin, byRegion]) => [origin, Object.fromEntries(byRegion)]))), eventId],
    );
    return rows.length > 0 ? before : false;
  }

  async routing(tx: EntityManager | DataSource, domain: string): Promise<PlannedRouting | null> {
    const rows: Array<{ routing: Record<string, Record<string, number>> }> = await tx.query(`SELECT routing FROM ${this.s}.plan_routing WHERE domain = $1`, [domain]);
    return rows[0] ? new Map(Object.entries(rows[0].routing).map(([origin, byRegion]) => [origin, new Map(Object.entries(byRegion))])) : null;
  }

  /** Stores a shard's health if its window is newer than the one held; false otherwise. */
  async putHealth(tx: EntityManager, hostname: string, domain: string, status: string, windowStart: string, eventId: string): Promise<boolean> {
    const rows: unknown[] = await tx.query(
      `INSERT INTO ${this.s}.shard_health (hostname, domain, status, window_start, event_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (hostname) DO UPDATE SET domain = excluded.domain, status = excluded.status, window_start = excluded.window_start, event_id = excluded.event_id, updated_at = now()
       WHERE ${this.s}.shard_health.window_start < excluded.window_start RETURNING hostname`,
      [hostname, domain, status, windowStart, eventId],
    );
    return rows.length > 0;
  }

  /** The domain's shards' health: `down` as the monitor said it; degraded and healthy are up (degraded still answers). */
  async health(tx: EntityManager | DataSource, domain: string): Promise<Map<string, ShardHealth>> {
    const rows: Array<{ hostname: string; status: string }> = await tx.query(`SELECT hostname, status FROM ${this.s}.shard_health WHERE domain = $1`, [domain]);
    return new Map(rows.map((r) => [r.hostname, r.status === 'down' ? 'down' : 'up']));
  }

  async failurePolicy(tx: EntityManager | DataSource, domain: string): Promise<FailurePolicy | null> {
    const rows: Array<{ failure: FailurePolicy }> = await tx.query(`SELECT failure FROM ${this.s}.domain_policies WHERE domain = $1`, [domain]);
    return rows[0]?.failure ?? null;
  }

  async setFailurePolicy(domain: string, failure: FailurePolicy): Promise<void> {
    await this.db.query(`INSERT INTO ${this.s}.domain_policies (domain, failure) VALUES ($1, $2) ON CONFLICT (domain) DO UPDATE SET failure = excluded.failure, updated_at = now()`, [domain, JSON.stringify(failure)]);
  }

  async owned(tx: EntityManager, provider: string, zone: string): Promise<Set<string>> {
    const rows: Array<{ key: string }> = await tx.query(`SELECT key FROM ${this.s}.owned_records WHERE provider = $1 AND zone = $2`, [provider, zone]);
    return new Set(rows.map((r) => r.key));
  }

  /** Replaces the zone's owned keys and appends the changes to the audit, in the caller's transaction. */
  async recordApplied(tx: EntityManager, provider: string, zone: string, owned: readonly string[], changes: readonly Change[], cause: { layoutVersion: number | null; eventId: string | null }): Promise<void> {
    await tx.query(`DELETE FROM ${this.s}.owned_records WHERE provider = $1 AND zone = $2`, [provider, zone]);
    if (owned.length > 0) await tx.query(`INSERT INTO ${this.s}.owned_records (provider, zone, key) SELECT $1, $2, unnest($3::text[])`, [provider, zone, owned]);
    for (const c of changes) {
      await tx.query(`INSERT INTO ${this.s}.audit (provider, zone, layout_version, event_id, action, key, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
        provider,
        zone,
        cause.layoutVersion,
        cause.eventId,
        c.action,
        c.key,
        c.before === null ? null : JSON.stringify(c.before),
        c.after === null ? null : JSON.stringify(c.after),
      ]);
    }
  }

  /** Each client region's decision as last applied: the "before" of the next plan's traffic impact. */
  async decisions(tx: EntityManager | DataSource, domain: string): Promise<ClientDecision[]> {
    const rows: Array<{ decisions: ClientDecision[] | null }> = await tx.query(`SELECT decisions FROM ${this.s}.layouts WHERE domain = $1`, [domain]);
    return rows[0]?.decisions ?? [];
  }

  async setDecisions(tx: EntityManager, domain: string, decisions: readonly ClientDecision[]): Promise<void> {
    await tx.query(`UPDATE ${this.s}.layouts SET decisions = $2 WHERE domain = $1`, [domain, JSON.stringify(decisions)]);
  }

  /** Claims keys before a provider write, committed at once: a crash after the write leaves them owned, never foreign. */
  async claim(provider: string, zone: string, keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.db.query(`INSERT INTO ${this.s}.owned_records (provider, zone, key) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING`, [provider, zone, keys]);
  }

  /** Records that dns-publisher is about to create the zone (committed at once, before the provider call). */
  async zoneCreated(provider: string, zone: string): Promise<void> {
    await this.db.query(`INSERT INTO ${this.s}.created_zones (provider, zone) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [provider, zone]);
  }

  async createdZone(tx: EntityManager, provider: string, zone: string): Promise<boolean> {
    return (await tx.query(`SELECT 1 FROM ${this.s}.created_zones WHERE provider = $1 AND zone = $2`, [provider, zone])).length > 0;
  }

  async zoneDeleted(tx: EntityManager, provider: string, zone: string): Promise<void> {
    await tx.query(`DELETE FROM ${this.s}.created_zones WHERE provider = $1 AND zone = $2`, [provider, zone]);
  }

  async auditCount(zone: string): Promise<number> {
    const [{ n }]: Array<{ n: number }> = await this.db.query(`SELECT count(*)::int AS n FROM ${this.s}.audit WHERE zone = $1`, [zone]);
    return n;
  }
}
