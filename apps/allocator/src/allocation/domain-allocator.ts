import { CAPACITY_PLAN, CapacityPlanEvent, CapacityPlanEventSchema, deterministicEventId, RequestCost, Tier, Topics } from '@shardcast/contracts';
import { AllocationInput, AllocationPlan, AllocationPolicy, decide, DefaultAllocationPolicy, DomainAllocationState, LatencyMatrix, newDomainState, toCapacityPlan } from '@shardcast/allocation';
import { Logger, OutboxRelay } from '@shardcast/platform';
import { AllocationLedger, ApplyOutcome } from '../persistence/allocation-ledger';
import { desiredCapacity, PoolDriver } from '../drivers/pool-driver';

/** The event an input came from: its id makes applying it idempotent, and the plan's causation. */
export interface InputCause {
  eventId: string;
  correlationId: string;
}

export type AllocateOutcome = 'published' | 'unchanged' | 'duplicate';

/**
 * Per-request cost of a domain no forecast has described yet (only observed demand): the `api`
 * app type's default profile, the forecaster's default for a domain nobody registered.
 */
export const FALLBACK_REQUEST_COST: RequestCost = { cpuMs: 8, memoryMbPerConcurrent: 4, bytesOut: 4_000, latencyMs: 80 };

/** Tier of a domain first seen through observed demand (a forecast brings its real tier). */
const UNKNOWN_DOMAIN_TIER: Tier = 'free';

/**
 * Applies one input to one domain: load its state and the pools, `decide`, and write the decision
 * with its plan (outbox) and the input's processed-event record in one transaction. When another
 * decision got there first (a concurrent instance, a tick) the ledger refuses it: reload, decide
 * again, a bounded number of times (docs/decisions/0026-allocator-service-applies-each-event-once.md).
 * The decision itself is all in `libs/allocation`.
 */
export class DomainAllocator {
  constructor(
    private readonly ledger: AllocationLedger,
    private readonly latency: LatencyMatrix,
    private readonly relay: OutboxRelay,
    private readonly driver: PoolDriver,
    private readonly logger: Logger,
    private readonly maxConflictRetries: number,
    private readonly policy: AllocationPolicy = DefaultAllocationPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  async allocate(domain: string, input: (atMs: number) => AllocationInput, cause: InputCause | null): Promise<AllocateOutcome> {
    for (let attempt = 0; attempt <= this.maxConflictRetries; attempt++) {
      if (cause && (await this.ledger.isProcessed(cause.eventId))) return 'duplicate';
      const previous: DomainAllocationState = (await this.ledger.loadDomain(domain)) ?? newDomainState(domain, UNKNOWN_DOMAIN_TIER);
      const next = input(this.now());
      // A deregistered domain's last plan was its final one: late telemetry does not revive it (a new forecast does).
      if (previous.deregistered && next.kind === 'observed') return 'unchanged';
      const decision = decide(previous, next, await this.ledger.poolsView(), this.latency, FALLBACK_REQUEST_COST, this.policy);
      const event = decision.plan ? this.planEvent(decision.plan, cause) : null;
      let outcome: ApplyOutcome;
      try {
        outcome = await this.ledger.apply(previous, decision, async (tx) => {
          if (cause && !(await this.ledger.recordProcessed(tx, cause.eventId, domain))) throw new AlreadyProcessed();
          if (event) await this.ledger.addToOutbox(tx, event.eventId, Topics.capacityPlan, domain, JSON.stringify(event));
        });
      } catch (err) {
        // Another delivery of the same event committed between the check above and this transaction.
        if (err instanceof AlreadyProcessed) return 'duplicate';
        throw err;
      }
      if (!outcome.applied) {
        this.logger.debug({ domain, attempt, conflict: outcome.conflict, region: outcome.region }, 'allocation conflict; deciding again');
        continue;
      }
      if (!event) return 'unchanged';
      this.relay.kick();
      const regions = event.payload.regions.map((r) => ({ region: r.region, reason: r.reason, cpuCores: r.reserved.cpuCores }));
      this.logger.info({ domain, version: event.payload.version, planId: event.payload.planId, causationId: event.causationId, regions }, 'capacity plan decided');
      // After the commit, never awaited by the consumer: the ledger holds the truth, the driver follows.
      void this.driver.apply(desiredCapacity(event.payload)).catch((err) => this.logger.warn({ err, domain }, 'pool driver failed'));
      return 'published';
    }
    throw new Error(`${domain}: the ledger refused the decision ${this.maxConflictRetries + 1} times (other instances kept moving first)`);
  }

  private planEvent(plan: AllocationPlan, cause: InputCause | null): CapacityPlanEvent {
    // Deterministic: the ledger lets one decision per (domain, version) through, so one id per plan.
    const planId = deterministicEventId(CAPACITY_PLAN, plan.domain, plan.version);
    // Parsed before it is written: a plan the contract refuses fails here (and is retried, then dead-lettered), not in a consumer.
    return CapacityPlanEventSchema.parse({
      eventId: planId,
      type: CAPACITY_PLAN,
      occurredAt: new Date(this.now()).toISOString(),
      producedBy: 'allocator',
      correlationId: cause?.correlationId ?? planId,
      causationId: cause?.eventId ?? null,
      payload: toCapacityPlan(plan, planId),
    }) as CapacityPlanEvent;
  }
}

class AlreadyProcessed extends Error {
  constructor() {
    super('event already processed');
  }
}
