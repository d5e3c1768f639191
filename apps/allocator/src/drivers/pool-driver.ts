import { CapacityPlan, ResourceNeed } from '@shardcast/contracts';
import { Logger } from '@shardcast/platform';

/** What a driver is asked for: the capacity a domain should hold per region, as of one plan version. */
export interface DesiredCapacity {
  domain: string;
  planId: string;
  version: number;
  regions: Array<{ region: string; desired: ResourceNeed }>;
}

export function desiredCapacity(plan: CapacityPlan): DesiredCapacity {
  return { domain: plan.domain, planId: plan.planId, version: plan.version, regions: plan.regions.map((r) => ({ region: r.region, desired: r.reserved })) };
}

/**
 * Applies plans to real capacity. The ledger is the truth of what is reserved; a driver makes the
 * infrastructure follow it. Called after the plan's transaction commits; a failing driver never
 * holds up the decisions (the next plan of the domain carries the whole desired state again).
 */
export interface PoolDriver {
  apply(desired: DesiredCapacity): Promise<void>;
}

/** The default: nothing to drive, the plan is logged (the simulator and the tests need no infrastructure). */
export class SimulatedPoolDriver implements PoolDriver {
  /** The last desired capacity per domain, as a real driver would have set it. */
  readonly applied = new Map<string, DesiredCapacity>();

  constructor(private readonly logger: Logger) {}

  async apply(desired: DesiredCapacity): Promise<void> {
    const last = this.applied.get(desired.domain);
    if (last && last.version >= desired.version) return;
    this.applied.set(desired.domain, desired);
    this.logger.info({ domain: desired.domain, version: desired.version, planId: desired.planId, regions: desired.regions }, 'capacity applied (simulated driver)');
  }
}
