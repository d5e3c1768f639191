import { DemandForecast, RequestCost } from '@shardcast/contracts';
import { AllocationInput, AllocationPolicy, decide, DefaultAllocationPolicy, DomainAllocationState, newDomainState, PoolsView } from './decide';
import { LatencyMatrix } from './latency';
import { RegionPool } from './pools';

const MINUTE_MS = 60_000;

/**
 * Demand at 1-minute resolution (requests per second in each minute) and the capacity model both
 * policies share: one unit of capacity serves `unitRps` requests per second; capacity ordered at
 * minute m is ready at m + delay; capacity removed is gone at once; spend is ready unit-minutes.
 */
export interface SimulatedTrace {
  startMs: number;
  /** Requests per second, one value per minute. */
  demand: Float64Array;
  unitRps: number;
  provisioningDelayMinutes: number;
}

export interface CapacityOutcome {
  /** Units ready in each minute. */
  ready: Float64Array;
  /** Minutes in which demand exceeded ready capacity (only minutes from `scoreFrom`). */
  underMinutes: number;
  /** Requests per second short, summed over those minutes (the depth of the shortfall). */
  shortRequestMinutes: number;
  /** Ready capacity, unit-hours (from `scoreFrom`). */
  unitHours: number;
  /** How often ready capacity turned: a rise after a fall or a fall after a rise (from `scoreFrom`). Flapping shows here. */
  turns: number;
}

/** Capacity that comes up after a delay and goes at once: the one model both policies are scored in. */
class Provisioner {
  private readonly arrivals: number[] = [];
  ready = 0;

  constructor(private readonly delayMinutes: number) {}

  /** Minute m begins: what was ordered delay minutes ago is up. */
  advance(m: number): void {
    this.ready += this.arrivals[m] ?? 0;
    this.arrivals[m] = 0;
  }

  pending(m: number): number {
    let sum = 0;
    for (let k = m + 1; k <= m + this.delayMinutes; k++) sum += this.arrivals[k] ?? 0;
    return sum;
  }

  /** Aim for `units` in all (ready + on the way): order the difference, or cancel and remove at once. */
  target(m: number, units: number): void {
    let excess = this.ready + this.pending(m) - units;
    if (excess < 0) {
      if (this.delayMinutes === 0) this.ready += -excess;
      else this.arrivals[m + this.delayMinutes] = (this.arrivals[m + this.delayMinutes] ?? 0) - excess;
      return;
    }
    // Cancel the latest orders first, then take ready units down.
    for (let k = m + this.delayMinutes; k > m && excess > 0; k--) {
      const cut = Math.min(excess, this.arrivals[k] ?? 0);
      if (cut > 0) {
        this.arrivals[k] -= cut;
        excess -= cut;
      }
    }
    this.ready = Math.max(0, this.ready - excess);
  }
}

/** The HPA's default scale-down stabilisation window (minutes): what a reactive policy still holds. */
const HPA_STABILISATION_MINUTES = 5;

/** Whether demand in minute m exceeded the capacity ready then (the one test the score, its anatomy and the plot share). */
export function isShort(trace: SimulatedTrace, ready: Float64Array, m: number): boolean {
  return trace.demand[m] > ready[m] * trace.unitRps * (1 + 1e-12);
}

/** The fewest whole units that leave minute m not short (`isShort`). */
function unitsToCover(trace: SimulatedTrace, m: number): number {
  return Math.ceil(trace.demand[m] / (trace.unitRps * (1 + 1e-12)));
}

/**
 * Unit-hours of capacity that follows demand to the minute in whole units (from `scoreFrom`): what no
 * minute short costs when every order is placed exactly one delay ahead with foresight and nothing is
 * held longer than its minute. A reference for a trace, not a policy.
 */
export function exactCoverUnitHours(trace: SimulatedTrace, scoreFrom = 0): number {
  let unitMinutes = 0;
  for (let m = scoreFrom; m < trace.demand.length; m++) unitMinutes += unitsToCover(trace, m);
  return unitMinutes / 60;
}

/**
 * A clairvoyant on the scored minutes: it covers the minutes that need the fewest whole units first.
 * `spent[k]` is what covering the k + 1 cheapest costs (unit-minutes); `shortAt` is how many minutes
 * a budget leaves short.
 */
function clairvoyant(trace: SimulatedTrace, scoreFrom: number): { spent: number[]; shortAt: (unitMinutes: number) => number } {
  const need: number[] = [];
  for (let m = scoreFrom; m < trace.demand.length; m++) need.push(unitsToCover(trace, m));
  need.sort((a, b) => a - b);
  const spent: number[] = [];
  need.reduce((sum, n) => (spent.push(sum + n), sum + n), 0);
  const shortAt = (unitMinutes: number): number => {
    const budget = unitMinutes * (1 + 1e-12);
    let lo = 0; // the number of minutes covered: the first k with spent[k] over the budget
    let hi = spent.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (spent[mid] <= budget) lo = mid + 1;
      else hi = mid;
    }
    return spent.length - lo;
  };
  return { spent, shortAt };
}

/**
 * The fewest minutes short any policy could have at `unitHours` (from `scoreFrom`): with foresight
 * and orders placed one delay ahead, capacity covers the minutes that need the fewest whole units,
 * cheapest first, until the budget is spent, and holds nothing in the rest (a minute short scores the
 * same whatever it is short by). A bound for a trace, not a policy.
 */
export function clairvoyantUnderMinutes(trace: SimulatedTrace, unitHours: number, scoreFrom = 0): number {
  return clairvoyant(trace, scoreFrom).shortAt(unitHours * 60);
}

/**
 * The highest reduction (`shortfallReduction` against the reactive curve, interpolated as
 * `underAtCost` does) that any policy could reach at a cost from the curve's cheapest point up to
 * `maxUnitHours`: the clairvoyant's (`clairvoyantUnderMinutes`). Between the costs where one more
 * minute is just covered, the curve's own points and the cap, the clairvoyant's minutes short are
 * constant and the curve is linear, so the best is at one of those costs, and those are the costs tried.
 */
export function clairvoyantReduction(trace: SimulatedTrace, curve: ReadonlyArray<{ unitHours: number; underMinutes: number }>, maxUnitHours: number, scoreFrom = 0): number | null {
  const { spent, shortAt } = clairvoyant(trace, scoreFrom);
  const cheapest = Math.min(...curve.map((c) => c.unitHours)) * 60;
  const most = maxUnitHours * 60;
  // In unit-minutes: the curve's points, the cap, and each cost where one more minute is just covered.
  const costs = [...curve.map((c) => c.unitHours * 60), most, ...spent].filter((c) => c >= cheapest && c <= most);
  let best: number | null = null;
  for (const unitMinutes of costs) {
    const reactive = underAtCost(curve, unitMinutes / 60);
    if (reactive === null) continue;
    const r = shortfallReduction(shortAt(unitMinutes), reactive);
    if (best === null || r > best) best = r;
  }
  return best;
}

function score(trace: SimulatedTrace, ready: Float64Array, scoreFrom: number): CapacityOutcome {
  let underMinutes = 0;
  let shortRequestMinutes = 0;
  let unitMinutes = 0;
  let turns = 0;
  let lastMove = 0;
  for (let m = scoreFrom; m < trace.demand.length; m++) {
    if (isShort(trace, ready, m)) {
      underMinutes++;
      shortRequestMinutes += trace.demand[m] - ready[m] * trace.unitRps;
    }
    unitMinutes += ready[m];
    const move = m > scoreFrom ? Math.sign(ready[m] - ready[m - 1]) : 0;
    if (move !== 0) {
      if (lastMove !== 0 && move !== lastMove) turns++;
      lastMove = move;
    }
  }
  return { ready, underMinutes, shortRequestMinutes, unitHours: unitMinutes / 60, turns };
}

export interface ReactiveOptions {
  /** The HPA's target utilisation (0–1). */
  targetUtilisation: number;
  /** Scale-down stabilisation: the highest recommendation of this many minutes wins (the HPA's default is 5). */
  stabilisationMinutes?: number;
  /** Minutes before `scoreFrom` are warm-up: simulated, not scored. */
  scoreFrom?: number;
}

/**
 * The reactive baseline, as the Kubernetes HPA does it once a minute: desired =
 * ceil(current × utilisation / target) = ceil(demand of the last full minute / (unit × target)),
 * scale-down only to the highest desired of the stabilisation window, new units ready after the
 * provisioning delay.
 */
export function simulateReactive(trace: SimulatedTrace, options: ReactiveOptions): CapacityOutcome {
  const window = options.stabilisationMinutes ?? HPA_STABILISATION_MINUTES;
  const p = new Provisioner(trace.provisioningDelayMinutes);
  const ready = new Float64Array(trace.demand.length);
  const recent: number[] = [];
  for (let m = 0; m < trace.demand.length; m++) {
    p.advance(m);
    if (m === 0) p.ready = Math.ceil(trace.demand[0] / (trace.unitRps * options.targetUtilisation));
    ready[m] = p.ready;
    // The metric is the last full minute's demand, as shardcast's reactive net sees it at the same
    // moment (the HPA acts on what it measured, never on the minute still under way).
    const desired = Math.ceil(trace.demand[Math.max(0, m - 1)] / (trace.unitRps * options.targetUtilisation));
    recent.push(desired);
    if (recent.length > window) recent.shift();
    const stabilised = Math.max(...recent);
    const total = p.ready + p.pending(m);
    if (desired > total) p.target(m, desired);
    else if (stabilised < total) p.target(m, stabilised);
  }
  return score(trace, ready, options.scoreFrom ?? 0);
}

export interface ProactiveOptions {
  /** Minutes between re-forecasts (the forecaster's interval); `decide` runs every minute. */
  replanMinutes: number;
  scoreFrom?: number;
  policy?: AllocationPolicy;
  tier?: DomainAllocationState['tier'];
  requestCost: RequestCost;
  /** For spills; the simulation's one pool is unbounded, so nothing spills (default: an empty matrix). */
  latency?: LatencyMatrix;
  /** Called at each re-plan with the minute index: the forecast from history before it (null: none). */
  forecastAt: (minute: number) => Promise<DemandForecast | null>;
  /** Called once a minute (progress bars). */
  onMinute?: (minute: number) => void;
}

/**
 * shardcast's policy on the same trace: a forecast every `replanMinutes`, observed demand every
 * minute (the reactive net), each through the allocator's own `decide`; the plan's requests per
 * second become units of capacity ordered through the same provisioner as the baseline.
 */
export async function simulateProactive(trace: SimulatedTrace, options: ProactiveOptions): Promise<CapacityOutcome & { reasons: Record<string, number> }> {
  const region = 'sim-1';
  const pool: RegionPool = {
    region,
    // Unbounded in the simulation: the comparison is of policies, not of pool limits.
    capacity: { cpuCores: Number.MAX_SAFE_INTEGER, memoryGiB: Number.MAX_SAFE_INTEGER, egressMbps: Number.MAX_SAFE_INTEGER },
    provisioningDelaySeconds: trace.provisioningDelayMinutes * 60,
    costPerHour: { cpuCore: 0, memoryGiB: 0, egressMbps: 0 },
    endpoints: { ipv4: [], ipv6: [] },
  };
  const pools: PoolsView = { pools: new Map([[region, pool]]), committed: new Map() };
  const policy = { ...DefaultAllocationPolicy, ...options.policy };
  const latency = options.latency ?? new LatencyMatrix({ data: {} }, []);
  let state = newDomainState('simulated.example', options.tier ?? 'pro');
  const p = new Provisioner(trace.provisioningDelayMinutes);
  const ready = new Float64Array(trace.demand.length);
  const reasons: Record<string, number> = {};
  let rate = 0;
  const step = (input: AllocationInput) => {
    const d = decide(state, input, pools, latency, options.requestCost, policy);
    state = d.state;
    if (d.plan) rate = d.plan.regions.find((x) => x.region === region)?.requestsPerSecond ?? 0;
  };
  for (let m = 0; m < trace.demand.length; m++) {
    const atMs = trace.startMs + m * MINUTE_MS;
    p.advance(m);
    if (m % options.replanMinutes === 0) {
      const f = await options.forecastAt(m);
      if (f) step({ kind: 'forecast', atMs, eventId: `sim-${m}`, forecast: { ...f, region, domain: state.domain } });
    }
    // The last full minute measured; at the start, the first (the baseline starts warm too).
    step({ kind: 'observed', atMs, region, ratePerSecond: trace.demand[Math.max(0, m - 1)], bucketStartMs: atMs - MINUTE_MS });
    if (m === 0) p.ready = Math.ceil(rate / trace.unitRps - 1e-9);
    p.target(m, Math.ceil(rate / trace.unitRps - 1e-9));
    ready[m] = p.ready;
    const reason = state.origins[region]?.heldReason ?? 'none';
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    options.onMinute?.(m);
  }
  return { ...score(trace, ready, options.scoreFrom ?? 0), reasons };
}

/**
 * The reactive policy's under-provisioned minutes at a given cost, by linear interpolation on
 * its curve (cost ascending); null when the curve does not bracket the cost.
 */
export function underAtCost(curve: ReadonlyArray<{ unitHours: number; underMinutes: number }>, unitHours: number): number | null {
  const sorted = [...curve].sort((a, b) => a.unitHours - b.unitHours);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (unitHours >= a.unitHours && unitHours <= b.unitHours) {
      if (b.unitHours === a.unitHours) return Math.min(a.underMinutes, b.underMinutes);
      return a.underMinutes + ((unitHours - a.unitHours) / (b.unitHours - a.unitHours)) * (b.underMinutes - a.underMinutes);
    }
  }
  return null;
}

/** The minutes short of one policy, by kind (`shortfallAnatomy`). */
export interface ShortfallAnatomy {
  /** Demand above every minute measured by the time its capacity had to be ordered. */
  surprise: number;
  /** Demand no higher than a minute measured in that window: capacity was held too low. */
  heldTooLow: number;
}

/**
 * Why a policy's minutes short were short. Capacity for minute m had to be ordered by m − delay,
 * when the last full minute measured was m − delay − 1. A minute is a *surprise* when its demand
 * is above every minute of the `lookbackMinutes` measured by then (default: the HPA's 5-minute
 * stabilisation window, what a reactive policy still holds): only headroom or a forecast that saw
 * it coming covers it. Otherwise it was *held too low*: that demand had just been seen.
 */
export function shortfallAnatomy(trace: SimulatedTrace, ready: Float64Array, options: { scoreFrom?: number; lookbackMinutes?: number } = {}): ShortfallAnatomy {
  const lookback = options.lookbackMinutes ?? HPA_STABILISATION_MINUTES;
  const out: ShortfallAnatomy = { surprise: 0, heldTooLow: 0 };
  for (let m = options.scoreFrom ?? 0; m < trace.demand.length; m++) {
    if (!isShort(trace, ready, m)) continue;
    const last = m - trace.provisioningDelayMinutes - 1;
    let seen = -Infinity;
    for (let k = Math.max(0, last - lookback + 1); k <= last; k++) seen = Math.max(seen, trace.demand[k]);
    if (trace.demand[m] > seen) out.surprise++;
    else out.heldTooLow++;
  }
  return out;
}

/**
 * 1 − under(shardcast) / under(reactive at equal cost); 0 when both are 0. The denominator is at
 * least one minute, so a reactive policy that is never short gives −(shardcast's minutes), not −∞.
 */
export function shortfallReduction(proactiveUnder: number, reactiveUnderAtCost: number): number {
  if (reactiveUnderAtCost === 0 && proactiveUnder === 0) return 0;
  return 1 - proactiveUnder / Math.max(1, reactiveUnderAtCost);
}

/**
 * shardcast's capacity-hours ÷ the reactive policy's: 1 when both held nothing (a trace with no
 * demand costs the same either way, as its reduction is 0), +∞ when only shardcast held any.
 */
export function costRatio(proactiveUnitHours: number, reactiveUnitHours: number): number {
  if (reactiveUnitHours === 0) return proactiveUnitHours === 0 ? 1 : Infinity;
  return proactiveUnitHours / reactiveUnitHours;
}

/** shardcast's policy and the reactive policy's curve on one trace, compared at shardcast's cost. */
export interface PolicyComparison {
  proactive: CapacityOutcome & { reasons: Record<string, number> };
  reactive70: CapacityOutcome;
  /** The reactive policy's (cost, shortfall) at each target utilisation swept, target ascending. */
  curve: Array<{ target: number; unitHours: number; underMinutes: number }>;
  reactiveUnderAtCost: number | null;
  /** 1 − under(shardcast) / under(reactive at shardcast's cost); null when the sweep does not bracket it. */
  reduction: number | null;
  /** shardcast's capacity-hours ÷ the reactive policy's at 70 %. */
  costRatio: number;
}

/**
 * Runs shardcast's policy on a trace, then sweeps the reactive policy over target utilisation
 * (50–90 %, widened until it brackets shardcast's cost) and compares at matched cost: spending
 * more always buys fewer shortfalls, so only equal cost is a fair comparison.
 */
export async function comparePolicies(trace: SimulatedTrace, options: ProactiveOptions): Promise<PolicyComparison> {
  const proactive = await simulateProactive(trace, options);
  const cost = proactive.unitHours;
  const run = (target: number) => ({ target, ...simulateReactive(trace, { targetUtilisation: target, scoreFrom: options.scoreFrom }) });
  const curve = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9].map(run);
  for (let t = 0.45; t >= 0.05 && Math.max(...curve.map((c) => c.unitHours)) < cost; t -= 0.05) curve.push(run(Number(t.toFixed(2))));
  for (const t of [0.93, 0.96, 0.99]) if (Math.min(...curve.map((c) => c.unitHours)) > cost) curve.push(run(t));
  const reactive70 = curve.find((c) => c.target === 0.7)!;
  const reactiveUnderAtCost = underAtCost(curve, cost);
  return {
    proactive,
    reactive70,
    curve: curve.map((c) => ({ target: c.target, unitHours: c.unitHours, underMinutes: c.underMinutes })).sort((a, b) => a.target - b.target),
    reactiveUnderAtCost,
    reduction: reactiveUnderAtCost === null ? null : shortfallReduction(proactive.underMinutes, reactiveUnderAtCost),
    costRatio: costRatio(proactive.unitHours, reactive70.unitHours),
  };
}

/** Whether a series' forecasts should drive its capacity, and why (decision 0034). */
export interface GateVerdict {
  proactive: boolean;
  /** `pays`: cheaper than the reactive policy at 70 % and short less often at equal cost; else what failed. */
  reason: 'pays' | 'costlier' | 'no-gain' | 'unbracketed';
  reduction: number | null;
  costRatio: number;
}

/** The gate's rule on a comparison over recent history: open only where forecasts paid, at no more cost. */
export function gateVerdict(c: Pick<PolicyComparison, 'reduction' | 'costRatio'>): GateVerdict {
  const reason = c.costRatio > 1 ? 'costlier' : c.reduction === null ? 'unbracketed' : c.reduction <= 0 ? 'no-gain' : 'pays';
  return { proactive: reason === 'pays', reason, reduction: c.reduction, costRatio: c.costRatio };
}

/**
 * The proactive gate (decision 0034): replays the policy on a window of a series' recent history
 * (forecasts made, as at the time, from the data before each re-plan) against the reactive sweep
 * there. Where forecasts did not pay, the series is to be published `forecastOnly`, which the
 * allocator turns into the reactive policy.
 */
export async function proactiveGate(window: SimulatedTrace, options: ProactiveOptions): Promise<GateVerdict & { comparison: PolicyComparison }> {
  const comparison = await comparePolicies(window, options);
  return { ...gateVerdict(comparison), comparison };
}

/**
 * A trace of requests per step on a regular grid, as the simulator takes it: demand per minute
 * (the step's rate held through the step), and a capacity unit of the 95th-percentile rate ÷ 20
 * (about 20 units at peak: fine enough that rounding to whole units does not decide a comparison).
 */
export function simulatedTraceOf(values: ArrayLike<number>, startMs: number, stepMs: number, provisioningDelayMinutes: number): SimulatedTrace {
  const perStep = Math.max(1, Math.round(stepMs / 60_000));
  const demand = new Float64Array(values.length * perStep);
  for (let i = 0; i < values.length; i++) demand.fill(Math.max(0, values[i] || 0) / (stepMs / 1000), i * perStep, (i + 1) * perStep);
  const sorted = Float64Array.from(demand).sort();
  const p95 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(0.95 * sorted.length))] : 0;
  return { startMs, demand, unitRps: Math.max(p95 / 20, 1e-9), provisioningDelayMinutes };
}
