/** @shardcast/allocation: pools, inter-region latency and the allocator's one decision function. Pure. */
export { LatencyMatrix, greatCircleRttMs } from './latency';
export { RegionPoolSchema, RegionPoolsFileSchema, TierPoolCeiling, costPerHour, fitsWithin, tierAvailable, addNeed, ZERO } from './pools';
export type { RegionPool } from './pools';
export { decide, newDomainState, DefaultAllocationPolicy, toCapacityPlan } from './decide';
export type { AllocationInput, AllocationPlan, AllocationPolicy, Decision, DomainAllocationState, PlannedRegion, PoolsView, ReservationReason } from './decide';
export { simulateReactive, simulateProactive, underAtCost, shortfallReduction } from './simulation';
export type { SimulatedTrace, CapacityOutcome, ReactiveOptions, ProactiveOptions } from './simulation';
