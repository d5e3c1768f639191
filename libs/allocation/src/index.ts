/** @shardcast/allocation: pools, inter-region latency and the allocator's one decision function. Pure. */
export { LatencyMatrix } from './latency';
export { RegionPoolSchema, RegionPoolsFileSchema, TierPoolCeiling } from './pools';
export type { RegionPool } from './pools';
export { decide, newDomainState, DefaultAllocationPolicy, toCapacityPlan, accountSpend, guardStage, guardVerdicts, SEASONAL_NAIVE_MODELS } from './decide';
export type { AllocationInput, AllocationPlan, AllocationPolicy, Decision, DomainAllocationState, PoolsView, SpendAccount, SpendGuard } from './decide';
export { clairvoyantReduction, clairvoyantUnderMinutes, exactCoverUnitHours, isShort, simulateReactive, simulateProactive, simulatedTraceOf, underAtCost, shortfallReduction, shortfallAnatomy, comparePolicies, costRatio, gateVerdict, proactiveGate } from './simulation';
export type { SimulatedTrace, CapacityOutcome, PolicyComparison, GateVerdict, ProactiveOptions, ShortfallAnatomy } from './simulation';
