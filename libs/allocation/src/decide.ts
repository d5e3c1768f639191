import { CapacityPlan, DemandForecast, forecastRate, MAX_FORECAST_STEPS, forecastStepStartMs, QuantileLevel, QuantileLevels, QuantileProbability, RequestCost, ResourceNeed, resourcesForRate, Tier, TierPolicy } from '@shardcast/contracts';
import { LatencyMatrix } from './latency';
import { addNeed, costPerHour, needsEqual, RegionPool, subtractNeed, tierAvailable, unitsThatFit, ZERO } from './pools';

/** Why a region holds what it holds (capacity.plan.v1). */
export type ReservationReason = 'proactive' | 'prior' | 'reactive' | 'spill' | 'limit';

/** The allocator's knobs; `DefaultAllocationPolicy` documents each default. */
export interface AllocationPolicy {
  /** Reactive target utilisation (the HPA's): capacity = observed ÷ this, when no forecast can be used. */
  targetUtilisation: number;
  /** Never below observed demand × (1 + margin) on a forecast alone. */
  observedMargin: number;
  /** An observation older than this no longer sets the floor (ms). */
  observedTtlMs: number;
  /** How often each domain is re-decided at the latest (ms; the service ticks every domain this often): a reservation covers demand until the next decision's capacity is up. */
  decisionIntervalMs: number;
  /** Scale in only when the highest target of the last `scaleInDelayMs` is this fraction below what is held… */
  scaleInBand: number;
  /** …the stabilisation window (ms)… */
  scaleInDelayMs: number;
  /** …and by at most this fraction of what is held per decision, while a forecast's level is let go… */
  maxScaleInStep: number;
  /** …or this fraction for the reactive policy's level (no usable forecast: none, `forecastOnly`, or past its horizon) and for what the observed floor set under a forecast. */
  reactiveMaxScaleInStep: number;
  /** Spill only to regions within this round trip of the demand's origin (ms). */
  maxSpillRttMs: number;
  /** A forecast at least this much prior is labelled `prior` (acted on like any other). */
  priorLabelWeight: number;
  /** Width of a block in the published schedule (ms). */
  scheduleBlockMs: number;
  /**
   * Spend no more over a forecast's horizon than the reactive policy at this target utilisation
   * would on the forecast median (null: the tier's quantile and headroom, whatever they cost).
   * When the tier's quantile costs more, every step is provisioned at the one lower quantile that
   * fits the budget: capacity moves to where the forecast is uncertain, not away from everywhere.
   */
  budgetUtilisation: number | null;
  /**
   * The spend guard (null: none). Each origin keeps an account of the rate it held on forecasts and
   * of what the reactive policy at `targetUtilisation` would have held on the same observations
   * (`accountSpend`). Once it has measured `spendWarmUpMs`, while what it held is over this fraction
   * of the reactive policy's, forecasts are provisioned at their median, the cheapest level they are
   * held at, until the account is back under: the gate predicts from two days of history, the guard
   * holds on the days after.
   */
  spendCeiling: number | null;
  /**
   * While what a forecast's median would hold has lately been over this fraction of what the reactive
   * policy holds (a forecast biased high, such as last week's level after demand fell), even the median
   * spends more than the reactive policy and buys nothing for it: the reactive policy holds, as for a
   * closed gate, until the median is back under. Not the origin's account: after days under the
   * ceiling, that took days to see a level shift.
   */
  spendReactiveCeiling: number;
  /** The time constant of "lately" (ms): hours, so a level shift is seen the day it happens. */
  spendRecentTimeConstantMs: number;
  /** A stage is entered above its ceiling and left only below it less this (no flapping at the line). */
  spendHysteresis: number;
  /** The time constant over which the spend guard's account forgets (ms): a week ago weighs e⁻¹. */
  spendTimeConstantMs: number;
  /** The median stage acts only once the account has measured this long (ms, forgotten as the sums are): over a few hours, capacity placed ahead of one rise outweighs the rest. (The reactive stage waits for half `spendRecentTimeConstantMs` of its own sums.) */
  spendWarmUpMs: number;
  /**
   * A seasonal naive forecast (`SEASONAL_NAIVE_MODELS`: a day's or a week's ago demand, whose level
   * it keeps) is re-levelled by what demand has lately been against its median: the time constant
   * of that account (ms; `levelCorrection`). Null: forecasts are held as published (decision 0039).
   */
  levelCorrectionTimeConstantMs: number | null;
}

/** The models whose forecasts keep the level of a day or a week ago (libs/forecasting's seasonal naive candidates). */
export const SEASONAL_NAIVE_MODELS: ReadonlySet<string> = new Set(['snaive-daily', 'snaive-weekly']);

/** A level correction is a factor within [1 ÷ this, this]: a forecast off by more is a shape gone wrong, not a level. */
export const LEVEL_CORRECTION_LIMIT = 3;

export const DefaultAllocationPolicy: AllocationPolicy = {
  targetUtilisation: 0.7, // Kubernetes HPA users' common target; the simulator's baseline uses the same
  observedMargin: 0.2,
  observedTtlMs: 10 * 60_000, // two missed minutes of telemetry are noise, ten are an outage of the feed
  decisionIntervalMs: 60_000, // telemetry arrives per minute; so do the service's ticks
  // The stabilisation window is the hysteresis; a band on top only costs (the gated trace of
  // bench:proactive: 1.04× the HPA's capacity-hours with a 10 % band, 1.00× without).
  scaleInBand: 0,
  scaleInDelayMs: 5 * 60_000, // the HPA's scale-down stabilisation window
  maxScaleInStep: 0.5, // halve at most per decision: a forecast's drop takes a few minutes, not one
  // The fallback is the HPA's own scale-in (down to the window's highest at once): halving steps
  // there cost 1.13× the HPA's capacity-hours on a gated trace (decision 0034).
  reactiveMaxScaleInStep: 1,
  maxSpillRttMs: 150, // about one continent away: beyond it a spill hurts more than queueing
  priorLabelWeight: 0.5,
  scheduleBlockMs: 60 * 60_000,
  // The median ÷ 0.85: what the HPA at 70 % actually spends, its ceilings and stabilisation window
  // holding it above median ÷ 0.7's share of peaks; with ÷ 0.7 the forecasts cost more than the HPA
  // on every trace of bench:proactive and the gate closes on all four (decisions 0024, 0034).
  budgetUtilisation: 0.85,
  // Below 1: the account counts rates as held, the HPA's bill whole units that come up after the
  // delay. 0.9 is the highest of 0.8 … 1.0 that kept every trace of bench:proactive, its derived
  // windows and its resampled copies at or under the HPA's cost (decision 0038).
  spendCeiling: 0.9,
  // An unbiased median costs about 0.6–0.85 of the reactive policy (no ÷ 0.7, a smaller margin on
  // the floor): over 0.93 for hours it is biased. 0.9–0.95 read alike in bench:proactive, 0.85 sets
  // taxi's ordinary days aside, 0.96 and over miss its blizzard; 1.1 let a trace cost 1.001× the
  // HPA (decision 0038, "The step under way").
  spendReactiveCeiling: 0.93,
  spendRecentTimeConstantMs: 6 * 3_600_000, // 3 h and 12 h read about the same; 6 h switches as rarely
  spendHysteresis: 0.05,
  spendTimeConstantMs: 7 * 24 * 3_600_000, // the simulated week: long enough that a cheap day pays for a dear one
  spendWarmUpMs: 24 * 3_600_000, // a day: every daily peak is in the account once
  // The provisioning delay of bench:proactive. On its four traces 5 and 10 minutes read alike, 15 a
  // little less, 30 less than no correction; on its validation set 10 reads best (decision 0039).
  levelCorrectionTimeConstantMs: 10 * 60_000,
};

/** What the allocator knows of one origin region's demand for one domain. */
export interface OriginDemand {
  forecast: DemandForecast | null;
  forecastEventId: string | null;
  /** Latest observed requests per second and when (ms). */
  observed: { ratePerSecond: number; atMs: number } | null;
  /** Request rate currently held for this origin (after hysteresis), and since when it has been above target. */
  heldRate: number;
  /** This origin's targets over the scale-in window (what scale-in is stabilised on). */
  recentTargets: Array<{ atMs: number; rate: number }>;
  heldReason: ReservationReason;
  heldQuantile: QuantileLevel | null;
  /** The spend guard's account (absent in a state written before it: a fresh account). */
  spend?: SpendAccount;
  /** What demand has lately been against a seasonal naive forecast's median (`accountLevel`; absent in a state written before it: none yet). */
  level?: LevelAccount;
}

/**
 * Observed demand and the median of one seasonal naive forecast model for the same buckets, each a
 * sum of requests per second forgotten with `levelCorrectionTimeConstantMs`, as of `atMs`.
 */
export interface LevelAccount {
  atMs: number;
  /** The model the sums were measured against: another model (or the other seasonal naive) starts afresh. */
  model: string;
  observed: number;
  median: number;
  /** The buckets those sums cover, forgotten likewise: the correction waits for half the time constant's minutes. */
  minutes: number;
  /** The newest bucket counted and what it added (forgotten likewise): a later revision of it replaces them, an older bucket is not counted. */
  last: { bucketStartMs: number; observed: number; median: number; minutes: number };
}

/**
 * The spend guard's account of one origin as of `atMs` (`accountSpend`). Sums are requests per
 * second × ms, forgotten with the time constant `spendTimeConstantMs`.
 */
export interface SpendAccount {
  atMs: number;
  /** What the origin held over the intervals accounted. */
  held: number;
  /** What the reactive policy (the baseline) would have held over the same intervals. */
  baseline: number;
  /** The time those intervals cover, forgotten likewise (ms): the guard waits for `spendWarmUpMs` of it. */
  measuredMs: number;
  /** The baseline's recommendations over its stabilisation window (`scaleInDelayMs`): it holds their peak. */
  baselineRecent: Array<{ atMs: number; rate: number }>;
  /**
   * What the median stage's target was, and the baseline, over the intervals with a forecast fitted
   * to data in force (whatever held), forgotten with `spendRecentTimeConstantMs`: whether the median
   * pays. A target, before the stabilisation window and scale-in steps: it understates what the
   * median stage holds a little, on the side of keeping a forecast.
   */
  medianLately: number;
  baselineLately: number;
  /** The time those intervals cover, forgotten likewise (ms): read once it reaches half the time constant (about 4 hours). */
  latelyMs: number;
  /** The median stage's target from `atMs` (null: no forecast fitted to data in force, or it does not cover the reservation window). */
  medianRate: number | null;
  /** The guard's stage at `atMs`: what held. */
  stage: SpendGuard;
  /**
   * The two verdicts the stage follows, each with its own hysteresis: the median's sums lately over
   * `spendReactiveCeiling` (set the forecast aside), the account over `spendCeiling` (hold it at the
   * median). Kept apart from `stage`, which also follows what is measured and whether a forecast is
   * fitted, so each band is applied by the verdict it belongs to. Absent in a state written before them.
   */
  setAside?: boolean;
  atMedian?: boolean;
  /**
   * Whether the interval from `atMs` is accounted: a forecast fitted to data (not mostly a
   * registration prior, not `forecastOnly`, not past its horizon) was in force. Held on, it sets the
   * origin's target; set aside by the guard, only the median's sums count it.
   */
  counted: boolean;
}

/** One domain's allocation state: everything `decide` needs of it, persisted by the service between events. */
export interface DomainAllocationState {
  domain: string;
  tier: Tier;
  /** Version of the last plan published (0: none yet). */
  version: number;
  requestCost: RequestCost | null;
  origins: Record<string, OriginDemand>;
  /** What is reserved per serving region now (the ledger's rows for this domain). */
  reserved: Record<string, ResourceNeed>;
  deregistered: boolean;
}

/** Pools and what every domain has committed in each (the ledger's totals, this domain included). */
export interface PoolsView {
  pools: ReadonlyMap<string, RegionPool>;
  committed: ReadonlyMap<string, ResourceNeed>;
}

export type AllocationInput =
  | { kind: 'forecast'; atMs: number; eventId: string; forecast: DemandForecast }
  | { kind: 'observed'; atMs: number; region: string; ratePerSecond: number; /** The start of the minute measured (default: the minute before `atMs`). */ bucketStartMs?: number }
  | { kind: 'deregistered'; atMs: number; eventId: string }
  | { kind: 'tick'; atMs: number };

export interface PlannedRegion {
  region: string;
  reason: ReservationReason;
  /** The forecast quantile the reservation follows (null: reactive or spill-only). */
  quantile: QuantileLevel | null;
  reserved: ResourceNeed;
  /** Requests per second the reservation serves. */
  requestsPerSecond: number;
  /** Demand this region's pool could not take (its origin's, after spilling), requests per second. */
  shortRequestsPerSecond: number;
  /** What the domain's tier may still commit in this pool after this plan. */
  poolHeadroom: ResourceNeed;
  endpoints: RegionPool['endpoints'];
  costPerHour: number;
  servedByOrigin: Array<{ origin: string; requestsPerSecond: number; forecastEventId: string | null }>;
  schedule: Array<{ fromMs: number; untilMs: number; reserved: ResourceNeed }>;
}

export interface AllocationPlan {
  domain: string;
  tier: Tier;
  version: number;
  validFromMs: number;
  validUntilMs: number;
  regions: PlannedRegion[];
  /** Demand no pool within reach could take, per origin region (requests per second). */
  shortByOrigin: Array<{ origin: string; requestsPerSecond: number }>;
}

export interface Decision {
  state: DomainAllocationState;
  /** Per region, how the domain's reservation changes (new − old, per dimension; may be negative). */
  ledger: Array<{ region: string; from: ResourceNeed; to: ResourceNeed }>;
  /** A plan to publish, or null when nothing a consumer sees changed. */
  plan: AllocationPlan | null;
}

export function newDomainState(domain: string, tier: Tier): DomainAllocationState {
  return { domain, tier, version: 0, requestCost: null, origins: {}, reserved: {}, deregistered: false };
}

const emptyOrigin = (): OriginDemand => ({ forecast: null, forecastEventId: null, observed: null, heldRate: 0, recentTargets: [], heldReason: 'reactive', heldQuantile: null });

/** Standard normal quantile (Acklam's rational approximation; |error| < 1.2e-9), to place levels on one scale. */
function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** The published levels from the median up, on the normal scale. */
const UPPER_LEVELS = QuantileLevels.filter((l) => QuantileProbability[l] >= 0.5).map((level) => ({ level, z: normalQuantile(QuantileProbability[level]) }));

/** Rate of step `s` at normal score z, linear in z between the published levels (p50 … the tier's). */
function rateAtZ(f: DemandForecast, s: number, z: number): number {
  for (let k = 1; k < UPPER_LEVELS.length; k++) {
    const lo = UPPER_LEVELS[k - 1];
    const hi = UPPER_LEVELS[k];
    if (z <= hi.z || k === UPPER_LEVELS.length - 1) {
      const w = Math.min(1, Math.max(0, (z - lo.z) / (hi.z - lo.z)));
      return (1 - w) * forecastRate(f, s, lo.level) + w * forecastRate(f, s, hi.level);
    }
  }
  return forecastRate(f, s, 'p50');
}

/** How a forecast is provisioned: at the tier's quantile with its headroom, or at a lower score that fits the budget. */
interface ProvisionLevel {
  /** Normal score of the level provisioned (the tier's quantile's when the budget does not bind). */
  z: number;
  multiplier: number;
  /** The published level at or below it (what the plan reports). */
  quantile: QuantileLevel;
}

const provisionLevels = new WeakMap<DemandForecast, Map<number | null, ProvisionLevel>>();

/**
 * The level a forecast is provisioned at. Without a budget, or when the tier's quantile with its
 * headroom costs no more than the budget over the horizon, that quantile; otherwise the one score z
 * (p50 ≤ z < the tier's) whose cost over the horizon equals the budget, found by bisection.
 * Memoised per forecast object: `decide` asks every minute of the same forecast.
 */
export function provisionLevel(f: DemandForecast, budgetUtilisation: number | null): ProvisionLevel {
  const memo = provisionLevels.get(f) ?? new Map<number | null, ProvisionLevel>();
  provisionLevels.set(f, memo);
  const known = memo.get(budgetUtilisation);
  if (known) return known;
  const tierZ = normalQuantile(QuantileProbability[f.provisionQuantile]);
  const headroom = TierPolicy[f.tier].headroom;
  let level: ProvisionLevel = { z: tierZ, multiplier: headroom, quantile: f.provisionQuantile };
  if (budgetUtilisation !== null && tierZ > 0) {
    let median = 0;
    let atTier = 0;
    for (let s = 0; s < f.steps; s++) {
      median += forecastRate(f, s, 'p50');
      atTier += forecastRate(f, s) * headroom;
    }
    const budget = median / budgetUtilisation;
    if (atTier > budget) {
      const spend = (z: number) => {
        let sum = 0;
        for (let s = 0; s < f.steps; s++) sum += rateAtZ(f, s, z);
        return sum;
      };
      let lo = 0;
      let hi = tierZ;
      for (let i = 0; i < 30; i++) {
        const mid = (lo + hi) / 2;
        if (spend(mid) > budget) hi = mid;
        else lo = mid;
      }
      const quantile = [...UPPER_LEVELS].reverse().find((u) => u.z <= lo + 1e-9)?.level ?? 'p50';
      level = { z: lo, multiplier: 1, quantile };
    }
  }
  memo.set(budgetUtilisation, level);
  return level;
}

/** Largest rate a forecast asks for in [fromMs, untilMs) at its provisioning level (the tier's quantile and headroom, or the budget's); null if the window is past its horizon. */
export function forecastWindowRate(f: DemandForecast, fromMs: number, untilMs: number, budgetUtilisation: number | null = null): number | null {
  const stepMs = f.stepSeconds * 1000;
  const level = provisionLevel(f, budgetUtilisation);
  let best: number | null = null;
  const t0 = forecastStepStartMs(f, 0);
  // Only the steps that overlap [fromMs, untilMs): decide asks every minute, the schedule every block.
  const first = Math.max(0, Math.floor((fromMs - t0) / stepMs));
  const last = Math.min(f.steps - 1, Math.ceil((untilMs - t0) / stepMs));
  for (let s = first; s <= last; s++) {
    const start = t0 + s * stepMs;
    if (start + stepMs <= fromMs || start >= untilMs) continue;
    const rate = rateAtZ(f, s, level.z) * level.multiplier;
    best = best === null ? rate : Math.max(best, rate);
  }
  return best;
}

interface OriginTarget {
  rate: number;
  reason: ReservationReason;
  quantile: QuantileLevel | null;
  /** A usable forecast set the target (or the observed floor under it); false: the reactive policy did. */
  onForecast: boolean;
}

/**
 * The rate an origin should hold now. Capacity asked for now is up after the provisioning delay and
 * must last until the next decision's capacity is up, and a cut takes effect at once: so the target
 * is the forecast's peak over [now, now + delay + decision interval]. A forecast marked `forecastOnly`
 * (worse than seasonal naive in backtest) or past its horizon is not used: the reactive policy
 * holds instead. Observed demand plus a margin is a floor under any forecast.
 */
export function originTarget(o: OriginDemand, nowMs: number, delayMs: number, policy: AllocationPolicy, guard: SpendGuard = 'within'): OriginTarget {
  const observed = freshObserved(o, nowMs, policy);
  const floor = observed === null ? 0 : observed * (1 + policy.observedMargin);
  const usable = o.forecast && !o.forecast.forecastOnly && guard !== 'reactive' ? o.forecast : null;
  const budget = stageBudget(guard, policy);
  const window = usable ? forecastWindowRate(usable, nowMs, nowMs + delayMs + policy.decisionIntervalMs, budget) : null;
  const fc = window === null ? null : window * levelCorrection(o, nowMs, policy);
  // A forecast that begins after the window, with nothing kept of the one it replaced for the step
  // under way (`withStepUnderWay`: none held, or another step or grid), still holds the origin: the
  // observed floor covers the step under way. Without it the reactive rule held hours-long steps
  // between forecasts, and 2- to 12-hour traces cost up to 1.006× the HPA in bench:proactive.
  const ahead = usable !== null && fc === null && forecastStepStartMs(usable, 0) > nowMs;
  if (usable && (fc !== null || ahead)) {
    const reason: ReservationReason = usable.priorWeight >= policy.priorLabelWeight ? 'prior' : 'proactive';
    if (fc !== null && fc >= floor) return { rate: fc, reason, quantile: provisionLevel(usable, budget).quantile, onForecast: true };
    return { rate: floor, reason: 'reactive', quantile: null, onForecast: true };
  }
  return { rate: observed === null ? 0 : observed / policy.targetUtilisation, reason: 'reactive', quantile: null, onForecast: false };
}

/** The budget a forecast is provisioned at in a guard stage. A budget of Σ p50 is the median: provisionLevel never goes below p50, and a tier at p50 is held there. */
function stageBudget(stage: SpendGuard, policy: AllocationPolicy): number | null {
  return stage === 'median' ? 1 : policy.budgetUtilisation;
}

function freshObserved(o: OriginDemand, nowMs: number, policy: AllocationPolicy): number | null {
  return o.observed && nowMs - o.observed.atMs <= policy.observedTtlMs ? o.observed.ratePerSecond : null;
}

/**
 * The spend guard's account brought to `nowMs`, for the interval since the last decision, by what
 * held then (`counted`, `medianRate`):
 * - a forecast fitted to data in force: the median stage's target against the baseline's (the peak
 *   of its recommendations over its stabilisation window, as the HPA holds), forgotten within
 *   hours: whether the median pays lately, whatever held; and, unless the guard's `reactive` stage
 *   set it aside (then the reactive policy held, as for a closed gate), the rate the origin held
 *   against the same baseline, forgotten over days;
 * - anything else: nothing. The reactive policy for its own reasons (no forecast yet,
 *   `forecastOnly`, past its horizon) costs what the baseline costs; a registration prior is the
 *   capacity placed before the first request that the user asked for, not a forecast's error.
 * Only while demand is measured (a recommendation at the interval's start, counted at most
 * `observedTtlMs`): a domain placed on its prior alone is never held against a baseline of nothing.
 * Then the baseline's recommendation now (observed ÷ target utilisation) joins its window.
 */
export function accountSpend(o: OriginDemand, nowMs: number, policy: AllocationPolicy): SpendAccount {
  // A state from the guard's first form (other fields) starts afresh; one from its second has nothing lately.
  const stored = o.spend && Array.isArray(o.spend.baselineRecent) && typeof o.spend.counted === 'boolean' ? o.spend : undefined;
  if (stored && nowMs < stored.atMs) return stored;
  const prev: SpendAccount = stored
    ? {
        ...stored,
        medianLately: stored.medianLately ?? 0,
        baselineLately: stored.baselineLately ?? 0,
        latelyMs: stored.latelyMs ?? 0,
        medianRate: stored.medianRate ?? null,
        // The second form's stages: reactive was entered with the account over 1.1, so over 0.9 too.
        setAside: stored.setAside ?? stored.stage === 'reactive',
        atMedian: stored.atMedian ?? stored.stage !== 'within',
      }
    : { atMs: nowMs, held: 0, baseline: 0, measuredMs: 0, medianLately: 0, baselineLately: 0, latelyMs: 0, medianRate: null, baselineRecent: [], stage: 'within', setAside: false, atMedian: false, counted: false };
  const dt = nowMs - prev.atMs;
  const keep = Math.exp(-dt / policy.spendTimeConstantMs);
  const keepLately = Math.exp(-dt / policy.spendRecentTimeConstantMs);
  const measured = prev.baselineRecent.length > 0 ? Math.min(dt, policy.observedTtlMs) : 0;
  const baselineHeld = prev.baselineRecent.reduce((m, r) => Math.max(m, r.rate), 0);
  // Time in the guard's reactive stage is the reactive policy's, as for a closed gate: not the origin's to account.
  const accounted = prev.counted && prev.stage !== 'reactive' ? measured : 0;
  const medianAccounted = prev.counted && prev.medianRate !== null ? measured : 0;
  const observed = freshObserved(o, nowMs, policy);
  return {
    ...prev,
    atMs: nowMs,
    held: prev.held * keep + o.heldRate * accounted,
    baseline: prev.baseline * keep + baselineHeld * accounted,
    measuredMs: prev.measuredMs * keep + accounted,
    medianLately: prev.medianLately * keepLately + (prev.medianRate ?? 0) * medianAccounted,
    baselineLately: prev.baselineLately * keepLately + baselineHeld * medianAccounted,
    latelyMs: prev.latelyMs * keepLately + medianAccounted,
    baselineRecent:
      observed === null ? [] : [...prev.baselineRecent.filter((r) => r.atMs > nowMs - policy.scaleInDelayMs && r.atMs < nowMs), { atMs: nowMs, rate: observed / policy.targetUtilisation }],
  };
}

/**
 * What the spend guard lets an origin's forecasts do: `within` its ceiling, the budget's level; over
 * it, the `median`; and where the median itself has lately cost more than `spendReactiveCeiling` ×
 * the reactive policy (a forecast biased high, such as last week's level after demand fell), the
 * `reactive` policy, as a closed gate, whatever the account.
 */
export type SpendGuard = 'within' | 'median' | 'reactive';

const ratioOf = (held: number, baseline: number) => (baseline > 0 ? held / baseline : held > 0 ? Infinity : 0);

/**
 * The guard's stage on an account brought to now, for a forecast fitted to data: each stage entered
 * above its ceiling and left below it less `spendHysteresis`. The median's account lately (once it
 * has measured half its time constant) says whether the forecast is set aside; the origin's
 * account (once it has measured `spendWarmUpMs`), whether it is held at the median. Never
 * `reactive` with nothing measured now (no recommendation in the baseline's window): the reactive
 * policy would hold nothing, the median holds.
 */
export function guardStage(spend: SpendAccount | undefined, policy: AllocationPolicy): SpendGuard {
  return stageOf(guardVerdicts(spend, policy), spend);
}

/** The guard's two verdicts on an account brought to now (`SpendAccount.setAside`, `atMedian`), each entered above its ceiling and left below it less `spendHysteresis`. */
export function guardVerdicts(spend: SpendAccount | undefined, policy: AllocationPolicy): { setAside: boolean; atMedian: boolean } {
  if (policy.spendCeiling === null || spend === undefined) return { setAside: false, atMedian: false };
  const band = (held: boolean | undefined) => (held ? policy.spendHysteresis : 0);
  return {
    setAside: spend.latelyMs >= policy.spendRecentTimeConstantMs / 2 && ratioOf(spend.medianLately, spend.baselineLately) > policy.spendReactiveCeiling - band(spend.setAside),
    atMedian: spend.measuredMs >= policy.spendWarmUpMs && ratioOf(spend.held, spend.baseline) > policy.spendCeiling - band(spend.atMedian),
  };
}

function stageOf(verdicts: { setAside: boolean; atMedian: boolean }, spend: SpendAccount | undefined): SpendGuard {
  if (verdicts.setAside) return spend && spend.baselineRecent.length > 0 ? 'reactive' : 'median';
  return verdicts.atMedian ? 'median' : 'within';
}

/**
 * Hysteresis, as the HPA's scale-down stabilisation does it: up at once; down only to the highest
 * target of the last `scaleInDelayMs`, not while that stays within the band below what is held,
 * and by at most `maxScaleInStep` per decision while a forecast's level is let go (`forecastPace`),
 * else `reactiveMaxScaleInStep` (the reactive policy's level, or what the observed floor set under a
 * forecast). `recentTargets` holds the targets of that window.
 */
export function holdRate(
  held: number,
  recentTargets: ReadonlyArray<{ atMs: number; rate: number }>,
  target: number,
  nowMs: number,
  policy: AllocationPolicy,
  forecastPace = true,
): { rate: number; recentTargets: Array<{ atMs: number; rate: number }> } {
  const recent = [...recentTargets.filter((t) => t.atMs > nowMs - policy.scaleInDelayMs && t.atMs < nowMs), { atMs: nowMs, rate: target }];
  const stabilised = Math.max(...recent.map((t) => t.rate));
  if (stabilised >= held) return { rate: stabilised, recentTargets: recent };
  if (stabilised >= held * (1 - policy.scaleInBand)) return { rate: held, recentTargets: recent };
  const step = forecastPace ? policy.maxScaleInStep : policy.reactiveMaxScaleInStep;
  return { rate: Math.max(stabilised, held * (1 - step)), recentTargets: recent };
}

/**
 * A forecast that begins after now (its model forecasts whole steps, and the step under way is partly
 * measured) keeps the steps of the one it replaces from the step under way up to its start: when the
 * one replaced covers them on the same step and grid, and both have the same `forecastOnly` and the
 * same side of `priorLabelWeight` (a prior's steps are never accounted as a fitted forecast's, nor the
 * reverse). Without them the step under way had no forecast: the origin fell to the observed floor
 * until the new forecast's first step came into the reservation window, and at 30-minute steps
 * capacity went down and up again every half hour (nyc_taxi in bench:proactive: 15 → 8 → 15 units
 * through an afternoon). The new forecast's model, flags and event id hold for the whole: the plan
 * names the new event as its cause, while the steps kept are what its predecessor said of the same
 * minutes (decision 0024, "The step under way").
 */
export function withStepUnderWay(held: DemandForecast | null, next: DemandForecast, nowMs: number, priorLabelWeight = DefaultAllocationPolicy.priorLabelWeight): DemandForecast {
  const nextStartMs = Date.parse(next.startAt);
  if (!held || nextStartMs <= nowMs || held.stepSeconds !== next.stepSeconds || held.forecastOnly !== next.forecastOnly) return next;
  if ((held.priorWeight >= priorLabelWeight) !== (next.priorWeight >= priorLabelWeight)) return next;
  const stepMs = next.stepSeconds * 1000;
  const heldStartMs = Date.parse(held.startAt);
  const until = (nextStartMs - heldStartMs) / stepMs;
  const from = Math.max(0, Math.floor((nowMs - heldStartMs) / stepMs));
  if (!Number.isInteger(until) || until > held.steps || from >= until) return next;
  const kept = until - from;
  if (kept + next.steps > MAX_FORECAST_STEPS) return next;
  const scale = held.unit / next.unit;
  const requests = Object.fromEntries(
    QuantileLevels.map((l) => [l, [...held.requests[l].slice(from, until).map((v) => v * scale), ...next.requests[l]]]),
  ) as DemandForecast['requests'];
  return { ...next, startAt: new Date(heldStartMs + from * stepMs).toISOString(), steps: kept + next.steps, requests };
}

/** A forecast the level correction is for: seasonal naive, fitted to data (not mostly a prior), not `forecastOnly`. */
function reLevelled(f: DemandForecast, policy: AllocationPolicy): boolean {
  return !f.forecastOnly && f.priorWeight < policy.priorLabelWeight && SEASONAL_NAIVE_MODELS.has(f.model.name);
}

/**
 * The level account brought to `atMs` with one observed bucket (its start `bucketStartMs`; a
 * later revision of the newest bucket replaces what it added, an older bucket is not counted),
 * counted only while a seasonal naive forecast fitted to data covers that bucket. Anything else
 * only forgets.
 */
export function accountLevel(o: OriginDemand, atMs: number, bucketStartMs: number, ratePerSecond: number, policy: AllocationPolicy): LevelAccount | undefined {
  const tau = policy.levelCorrectionTimeConstantMs;
  if (tau === null) return undefined;
  const held = o.level && atMs >= o.level.atMs ? forget(o.level, atMs, tau) : o.level;
  const f = o.forecast;
  if (!f || !reLevelled(f, policy)) return held;
  const step = Math.floor((bucketStartMs - forecastStepStartMs(f, 0)) / (f.stepSeconds * 1000));
  if (step < 0 || step >= f.steps) return held;
  const account = held && held.model === f.model.name ? held : { atMs, model: f.model.name, observed: 0, median: 0, minutes: 0, last: { bucketStartMs: Number.MIN_SAFE_INTEGER, observed: 0, median: 0, minutes: 0 } };
  if (atMs < account.atMs || bucketStartMs < account.last.bucketStartMs) return account;
  const median = forecastRate(f, step, 'p50');
  const replaced = bucketStartMs === account.last.bucketStartMs ? account.last : { observed: 0, median: 0, minutes: 0 };
  return {
    ...account,
    observed: account.observed - replaced.observed + ratePerSecond,
    median: account.median - replaced.median + median,
    minutes: account.minutes - replaced.minutes + 1,
    last: { bucketStartMs, observed: ratePerSecond, median, minutes: 1 },
  };
}

function forget(a: LevelAccount, atMs: number, tau: number): LevelAccount {
  const keep = Math.exp(-(atMs - a.atMs) / tau);
  return { ...a, atMs, observed: a.observed * keep, median: a.median * keep, minutes: a.minutes * keep, last: { ...a.last, observed: a.last.observed * keep, median: a.last.median * keep, minutes: a.last.minutes * keep } };
}

/**
 * The factor a seasonal naive forecast's rates are held at now: what demand has lately been ÷ what
 * its median said of the same buckets, within [1 ÷ LEVEL_CORRECTION_LIMIT, LEVEL_CORRECTION_LIMIT];
 * 1 for any other forecast, a prior, an account of another model, or while less than half the time
 * constant's minutes are measured (so it lapses minutes after telemetry stops). A seasonal naive
 * forecast carries last day's or week's level through a shift (a holiday, a storm, an outage) for
 * as long as the shift lasts. Other models were measured worse for it: on Twitter (a median of
 * seasonal naive, MSTL and Prophet) re-levelling moved capacity with the noise (decision 0039).
 */
export function levelCorrection(o: OriginDemand, nowMs: number, policy: AllocationPolicy): number {
  const tau = policy.levelCorrectionTimeConstantMs;
  const f = o.forecast;
  if (tau === null || !o.level || !f || !reLevelled(f, policy) || o.level.model !== f.model.name) return 1;
  const a = nowMs > o.level.atMs ? forget(o.level, nowMs, tau) : o.level;
  if (a.minutes < tau / 60_000 / 2 || a.median <= 0) return 1;
  return Math.min(LEVEL_CORRECTION_LIMIT, Math.max(1 / LEVEL_CORRECTION_LIMIT, a.observed / a.median));
}

function applyInput(state: DomainAllocationState, input: AllocationInput, policy: AllocationPolicy): DomainAllocationState {
  const origins = { ...state.origins };
  switch (input.kind) {
    case 'forecast': {
      const f = input.forecast;
      const prev = origins[f.region] ?? emptyOrigin();
      // A forecast generated before the one held is stale (redelivery, reordering): keep the newer.
      if (prev.forecast && Date.parse(prev.forecast.generatedAt) > Date.parse(f.generatedAt)) return state;
      origins[f.region] = { ...prev, forecast: withStepUnderWay(prev.forecast, f, input.atMs, policy.priorLabelWeight), forecastEventId: input.eventId };
      return { ...state, tier: f.tier, requestCost: f.requestCost as RequestCost, origins, deregistered: false };
    }
    case 'observed': {
      const prev = origins[input.region] ?? emptyOrigin();
      if (prev.observed && prev.observed.atMs > input.atMs) return state;
      const ratePerSecond = Math.max(0, input.ratePerSecond);
      const bucketStartMs = input.bucketStartMs ?? input.atMs - 60_000;
      origins[input.region] = { ...prev, observed: { ratePerSecond, atMs: input.atMs }, level: accountLevel(prev, input.atMs, bucketStartMs, ratePerSecond, policy) };
      return { ...state, origins };
    }
    case 'deregistered':
      return { ...state, origins: {}, deregistered: true };
    case 'tick':
      return state;
  }
}

/**
 * One decision for one domain: fold the input into its state, set each origin's held rate, place
 * it in the origin's pool and spill what does not fit to the next-closest pools, and say what the
 * ledger and the published plan become. Pure: the service and the simulator both call it.
 *
 * Placement never commits past a pool's ceiling for the domain's tier (given `pools.committed`,
 * which includes this domain's own current reservations): the invariant the property test holds.
 */
export function decide(
  previous: DomainAllocationState,
  input: AllocationInput,
  pools: PoolsView,
  latency: LatencyMatrix,
  fallbackCost: RequestCost,
  policy: AllocationPolicy = DefaultAllocationPolicy,
): Decision {
  const nowMs = input.atMs;
  const state = applyInput(previous, input, policy);
  const cost = state.requestCost ?? fallbackCost;
  const perRate = resourcesForRate(1, cost);

  // 1. Each origin's held rate.
  const origins: Record<string, OriginDemand> = {};
  for (const [region, o] of Object.entries(state.origins)) {
    const delayMs = (pools.pools.get(region)?.provisioningDelaySeconds ?? 0) * 1000;
    const account = policy.spendCeiling === null ? undefined : accountSpend(o, nowMs, policy);
    const fitted = o.forecast !== null && !o.forecast.forecastOnly && o.forecast.priorWeight < policy.priorLabelWeight && forecastStepStartMs(o.forecast, o.forecast.steps) > nowMs;
    // The guard judges forecasts fitted to data only: a prior, a forecastOnly or expired one is held
    // as it always is, and the verdicts wait as they were.
    const verdicts = fitted ? guardVerdicts(account, policy) : { setAside: account?.setAside ?? false, atMedian: account?.atMedian ?? false };
    const stage = fitted ? stageOf(verdicts, account) : 'within';
    const target = originTarget(o, nowMs, delayMs, policy, stage);
    const median = !fitted ? null : stage === 'median' ? target : originTarget(o, nowMs, delayMs, policy, 'median');
    const spend = account && { ...account, stage, ...verdicts, counted: fitted, medianRate: median?.onForecast ? median.rate : null };
    // A forecast's pace of scale-in (halving steps) is for the level a forecast set; what the observed
    // floor set, under a forecast too, goes as the reactive policy's does (decision 0024, hysteresis).
    const held = holdRate(o.heldRate, o.recentTargets ?? [], target.rate, nowMs, policy, target.onForecast && o.heldReason !== 'reactive');
    const keepsReason = held.rate > target.rate; // holding above target: the earlier reason still explains it
    origins[region] = {
      ...o,
      spend,
      heldRate: held.rate,
      recentTargets: held.recentTargets,
      heldReason: keepsReason ? o.heldReason : target.reason,
      heldQuantile: keepsReason ? o.heldQuantile : target.quantile,
    };
  }

  // 2. Placement: largest origin first (ties by id), home pool first, then the closest pools within reach.
  const available = new Map<string, ResourceNeed>();
  for (const [region, pool] of pools.pools) {
    const others = subtractNeed(pools.committed.get(region) ?? ZERO, previous.reserved[region] ?? ZERO);
    available.set(region, tierAvailable(pool, others, state.tier));
  }
  const served = new Map<string, Array<{ origin: string; rate: number }>>();
  const short = new Map<string, number>();
  const order = Object.keys(origins).sort((a, b) => origins[b].heldRate - origins[a].heldRate || (a < b ? -1 : 1));
  for (const origin of order) {
    let remaining = state.deregistered ? 0 : origins[origin].heldRate;
    if (remaining <= 0) continue;
    const candidates = [...(pools.pools.has(origin) ? [origin] : []), ...latency.spillOrder(origin, pools.pools.keys(), policy.maxSpillRttMs)];
    for (const region of candidates) {
      if (remaining <= 0) break;
      const room = available.get(region)!;
      const rate = Math.min(remaining, unitsThatFit(room, perRate));
      if (rate <= 0) continue;
      const need = resourcesForRate(rate, cost);
      available.set(region, subtractNeed(room, need));
      served.set(region, [...(served.get(region) ?? []), { origin, rate }]);
      remaining -= rate;
    }
    if (remaining > 1e-9) short.set(origin, remaining);
  }

  // 3. The reservations, the ledger's changes and the plan.
  const reserved: Record<string, ResourceNeed> = {};
  for (const [region, pieces] of served) reserved[region] = resourcesForRate(pieces.reduce((s, p) => s + p.rate, 0), cost);
  const ledger: Decision['ledger'] = [];
  for (const region of new Set([...Object.keys(previous.reserved), ...Object.keys(reserved)])) {
    const from = previous.reserved[region] ?? ZERO;
    const to = reserved[region] ?? ZERO;
    if (!needsEqual(from, to)) ledger.push({ region, from, to });
  }
  const regions: PlannedRegion[] = [];
  const regionIds = new Set([...served.keys(), ...[...short.keys()].filter((o) => pools.pools.has(o))]);
  for (const region of [...regionIds].sort()) {
    const pool = pools.pools.get(region)!;
    const pieces = served.get(region) ?? [];
    const home = origins[region];
    const servesHome = pieces.some((p) => p.origin === region);
    const reason: ReservationReason = short.has(region) ? 'limit' : servesHome && home ? home.heldReason : 'spill';
    const rate = pieces.reduce((s, p) => s + p.rate, 0);
    regions.push({
      region,
      reason,
      quantile: servesHome && home ? home.heldQuantile : null,
      reserved: reserved[region] ?? ZERO,
      requestsPerSecond: rate,
      shortRequestsPerSecond: short.get(region) ?? 0,
      poolHeadroom: available.get(region)!,
      endpoints: pool.endpoints,
      costPerHour: costPerHour(pool, reserved[region] ?? ZERO),
      servedByOrigin: pieces.map((p) => ({ origin: p.origin, requestsPerSecond: p.rate, forecastEventId: origins[p.origin]?.forecastEventId ?? null })),
      schedule: schedule(pieces, origins, pools, cost, nowMs, policy),
    });
  }
  const changed = ledger.length > 0 || previous.version === 0 || input.kind === 'deregistered' || reasonsChanged(previous, origins);
  const next: DomainAllocationState = { ...state, origins: state.deregistered ? {} : origins, reserved, version: changed ? previous.version + 1 : previous.version };
  const horizonEnd = Math.max(nowMs + policy.decisionIntervalMs, ...Object.values(origins).map((o) => (o.forecast ? forecastStepStartMs(o.forecast, o.forecast.steps) : 0)));
  const plan: AllocationPlan | null = changed ? { domain: state.domain, tier: state.tier, version: next.version, validFromMs: nowMs, validUntilMs: horizonEnd, regions, shortByOrigin: [...short].sort(([a], [b]) => (a < b ? -1 : 1)).map(([origin, requestsPerSecond]) => ({ origin, requestsPerSecond })) } : null;
  return { state: next, ledger, plan };
}

function reasonsChanged(previous: DomainAllocationState, origins: Record<string, OriginDemand>): boolean {
  return Object.entries(origins).some(([r, o]) => previous.origins[r]?.heldReason !== o.heldReason || previous.origins[r]?.heldQuantile !== o.heldQuantile);
}

/**
 * What the region is planned to hold over the forecast horizon, per block: each origin's forecast
 * peak over the block (and the provisioning delay after it), in the share of that origin the region
 * serves now. Informational (the shard-assigner adds
 * a region before a peak from it); the ledger holds only the present.
 */
function schedule(
  pieces: Array<{ origin: string; rate: number }>,
  origins: Record<string, OriginDemand>,
  pools: PoolsView,
  cost: RequestCost,
  nowMs: number,
  policy: AllocationPolicy,
): PlannedRegion['schedule'] {
  const blocks: PlannedRegion['schedule'] = [];
  const horizon = Math.max(0, ...pieces.map((p) => (origins[p.origin]?.forecast ? forecastStepStartMs(origins[p.origin].forecast!, origins[p.origin].forecast!.steps) : 0)));
  for (let from = nowMs; from < horizon; from += policy.scheduleBlockMs) {
    const until = Math.min(horizon, from + policy.scheduleBlockMs);
    let rate = 0;
    for (const p of pieces) {
      const o = origins[p.origin];
      if (!o?.forecast || o.heldRate <= 0) continue;
      const delayMs = (pools.pools.get(p.origin)?.provisioningDelaySeconds ?? 0) * 1000;
      const peak = forecastWindowRate(o.forecast, from, until + delayMs, stageBudget(o.spend?.stage ?? 'within', policy)) ?? 0;
      rate += peak * (p.rate / o.heldRate);
    }
    blocks.push({ fromMs: from, untilMs: until, reserved: resourcesForRate(rate, cost) });
  }
  return blocks;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The `capacity.plan.v1` payload of a plan (the service publishes it; `planId` names this decision). */
export function toCapacityPlan(plan: AllocationPlan, planId: string): CapacityPlan {
  return {
    domain: plan.domain,
    tier: plan.tier,
    version: plan.version,
    planId,
    validFrom: iso(plan.validFromMs),
    validUntil: iso(Math.max(plan.validUntilMs, plan.validFromMs + 1)),
    regions: plan.regions.map((r) => ({
      region: r.region,
      reason: r.reason,
      quantile: r.quantile,
      reserved: r.reserved,
      requestsPerSecond: r.requestsPerSecond,
      shortRequestsPerSecond: r.shortRequestsPerSecond,
      poolHeadroom: r.poolHeadroom,
      endpoints: r.endpoints,
      servedByOrigin: r.servedByOrigin,
      schedule: r.schedule.map((b) => ({ from: iso(b.fromMs), until: iso(b.untilMs), reserved: b.reserved })),
    })),
    shortByOrigin: plan.shortByOrigin,
  };
}
