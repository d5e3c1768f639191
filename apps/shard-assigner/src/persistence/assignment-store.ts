import { DataSource } from 'typeorm';
import { ShardAssigned, ShardAssignedEvent, Topics } from '@shardcast/contracts';
import { AssignmentState } from '@shardcast/placement';

export interface StoredAssignment {
  /** Bumped by every write: a decision is applied only on the revision it was taken from. */
  revision: number;
  state: AssignmentState;
}

/** What one decision writes besides its state: the layout event, and after it a tombstone. */
export interface AssignmentWrites {
  event: ShardAssignedEvent | null;
  tombstone: { eventId: string } | null;
}

/**
 * The shard-assigner's PostgreSQL: per domain its state behind a revision (two instances, or an
 * instance and its tick, are serialised by it: a decision taken on an older revision is refused
 * and taken again), the history of every layout by (domain, version), and the outbox. A layout,
 * its history row and its outbox row are written in the state's transaction: a version is
 * committed once, with one content, or not at all.
 */
export class AssignmentStore {
  constructor(
    private readonly db: DataSource,
    private readonly schema: string,
  ) {}

  private get s(): string {
    return `"${this.schema}"`;
  }

  async load(domain: string): Promise<StoredAssignment | null> {
    const rows: Array<{ revision: number; state: AssignmentState }> = await this.db.query(`SELECT revision, state FROM ${this.s}.domain_assignments WHERE domain = $1`, [domain]);
    return rows[0] ?? null;
  }

  /**
   * Writes `state` if the domain is still at `revision` (0: never stored), with its layout event and
   * tombstone; false when another writer got there first.
   */
  async apply(domain: string, revision: number, state: AssignmentState, writes: AssignmentWrites): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const json = JSON.stringify(state);
      const written: unknown[] =
        revision === 0
          ? await tx.query(
              `INSERT INTO ${this.s}.domain_assignments (domain, revision, version, released, state) VALUES ($1, 1, $2, $3, $4) ON CONFLICT (domain) DO NOTHING RETURNING domain`,
              [domain, state.version, state.released, json],
            )
          : await tx.query(
              `WITH changed AS (UPDATE ${this.s}.domain_assignments SET revision = revision + 1, version = $3, released = $4, state = $5, updated_at = now()
                 WHERE domain = $1 AND revision = $2 RETURNING domain) SELECT domain FROM changed`,
              [domain, revision, state.version, state.released, json],
            );
      if (written.length === 0) return false;
      const { event, tombstone } = writes;
      if (event) {
        const payload = JSON.stringify(event);
        // The primary key makes a second content for one version impossible, whatever the caller does.
        await tx.query(`INSERT INTO ${this.s}.layout_history (domain, version, event_id, layout) VALUES ($1, $2, $3, $4)`, [domain, event.payload.version, event.eventId, JSON.stringify(event.payload)]);
        await tx.query(`INSERT INTO ${this.s}.outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4)`, [event.eventId, Topics.shardAssigned, domain, payload]);
      }
      if (tombstone) await tx.query(`INSERT INTO ${this.s}.outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, NULL)`, [tombstone.eventId, Topics.shardAssigned, domain]);
      return true;
    });
  }

  /** The latest layout of a domain (null: none published). */
  async latestLayout(domain: string): Promise<ShardAssigned | null> {
    const rows: Array<{ layout: ShardAssigned }> = await this.db.query(
      `SELECT layout FROM ${this.s}.layout_history WHERE domain = $1 ORDER BY version DESC LIMIT 1`,
      [domain],
    );
    return rows[0]?.layout ?? null;
  }

  /** The latest layout of every domain, in pages (domain order), for rebuilding the cache. */
  async *latestLayouts(pageSize = 1000): AsyncGenerator<ShardAssigned[]> {
    let after = '';
    for (;;) {
      const rows: Array<{ domain: string; layout: ShardAssigned }> = await this.db.query(
        `SELECT DISTINCT ON (domain) domain, layout FROM ${this.s}.layout_history WHERE domain > $1 ORDER BY domain, version DESC LIMIT $2`,
        [after, pageSize],
      );
      if (rows.length === 0) return;
      yield rows.map((r) => r.layout);
      after = rows[rows.length - 1].domain;
    }
  }

  /** Domains a tick re-decides: every one not released. */
  async liveDomains(): Promise<string[]> {
    const rows: Array<{ domain: string }> = await this.db.query(`SELECT domain FROM ${this.s}.domain_assignments WHERE NOT released ORDER BY domain`);
    return rows.map((r) => r.domain);
  }
}
