import { deterministicEventId, SHARD_ASSIGNED, ShardAssignedEvent, ShardAssignedEventSchema } from '@shardcast/contracts';
import { AssignmentInput, AssignmentPolicy, assignShards, Layout, newAssignmentState, RoundTrips } from '@shardcast/placement';
import { Logger, OutboxRelay } from '@shardcast/platform';
import { LayoutCache } from '../cache/layout-cache';
import { AssignmentStore } from '../persistence/assignment-store';

/** The event an input came from: the layout's causation and correlation. */
export interface InputCause {
  eventId: string;
  correlationId: string;
}

export type AssignOutcome = 'published' | 'updated' | 'unchanged' | 'stale';

/**
 * Applies one input (a capacity plan, or a tick) to one domain: load its state, `assignShards`,
 * and write the state with its layout (history and outbox) in one transaction, on the revision it
 * was loaded at. When another writer got there first (a second instance, a tick) the store refuses
 * it: reload and decide again, a bounded number of times. The decision is all in `libs/placement`.
 */
export class DomainAssigner {
  constructor(
    private readonly store: AssignmentStore,
    private readonly cache: LayoutCache,
    private readonly relay: OutboxRelay,
    private readonly latency: RoundTrips,
    private readonly policy: AssignmentPolicy,
    private readonly logger: Logger,
    private readonly maxConflictRetries: number,
    private readonly now: () => number = Date.now,
  ) {}

  async assign(domain: string, input: AssignmentInput, cause: InputCause | null): Promise<AssignOutcome> {
    for (let attempt = 0; attempt <= this.maxConflictRetries; attempt++) {
      const stored = await this.store.load(domain);
      const previous = stored?.state ?? newAssignmentState(domain);
      const decision = assignShards(previous, input, this.now(), this.latency, this.policy);
      for (const r of decision.refusedNames) this.logger.warn({ domain, region: r.region, code: r.error.code, reason: r.error.reason }, 'region left out: its shard name would be broken');
      if (decision.ignored) return 'stale';
      if (!decision.changed) return 'unchanged';
      const event = decision.layout ? this.layoutEvent(decision.layout, cause) : null;
      const tombstone = decision.tombstone ? { eventId: deterministicEventId(SHARD_ASSIGNED, 'tombstone', domain, decision.state.version) } : null;
      if (!(await this.store.apply(domain, stored?.revision ?? 0, decision.state, { event, tombstone }))) {
        this.logger.debug({ domain, attempt }, 'assignment conflict; deciding again');
        continue;
      }
      if (!event) return 'updated';
      this.relay.kick();
      const layout = event.payload;
      this.logger.info(
        { domain, version: layout.version, planVersion: layout.source?.planVersion ?? null, shards: layout.shards.map((s) => `${s.hostname}:${s.state}:${s.weight}`), moved: layout.movement.moved, released: decision.tombstone },
        'shard layout decided',
      );
      // After the commit, best effort: PostgreSQL holds the truth; a read miss or the next start-up repairs the cache.
      await this.cache.put(layout).catch((err) => this.logger.warn({ err, domain, version: layout.version }, 'caching the layout failed'));
      return 'published';
    }
    throw new Error(`${domain}: the store refused the decision ${this.maxConflictRetries + 1} times (other instances kept moving first)`);
  }

  private layoutEvent(layout: Layout, cause: InputCause | null): ShardAssignedEvent {
    // Deterministic: the store lets one content per (domain, version) through, so one id per version.
    const eventId = deterministicEventId(SHARD_ASSIGNED, layout.domain, layout.version);
    // Parsed before it is written: a layout the contract refuses fails here (retried, then dead-lettered), never in a consumer.
    return ShardAssignedEventSchema.parse({
      eventId,
      type: SHARD_ASSIGNED,
      occurredAt: new Date(this.now()).toISOString(),
      producedBy: 'shard-assigner',
      correlationId: cause?.correlationId ?? layout.source?.planId ?? eventId,
      causationId: cause?.eventId ?? layout.source?.planId ?? null,
      payload: layout,
    }) as ShardAssignedEvent;
  }
}
