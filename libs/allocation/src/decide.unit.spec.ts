import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { CapacityPlanSchema, DemandForecast, QuantileLevels, RequestCost, ResourceNeed, resourcesForRate, Tier, Tiers, TierPolicy } from '@shardcast/contracts';
import { parseRegionTable } from '@shardcast/geo';
import { accountLevel, accountSpend, AllocationInput, AllocationPolicy, decide, DefaultAllocationPolicy, DomainAllocationState, forecastWindowRate, newDomainState, guardStage, guardVerdicts, originTarget, OriginDemand, PoolsView, provisionLevel, SpendAccount, toCapacityPlan, withStepUnderWay, levelCorrection, LEVEL_CORRECTION_LIMIT, SEASONAL_NAIVE_MODELS } from './decide';
import { LatencyMatrix } from './latency';
import { addNeed, fitsWithin, RegionPool, scaleNeed, subtractNeed, TierPoolCeiling, ZERO } from './pools';

const ROOT = resolve(__dirname, '../../..');
const latency = new LatencyMatrix(
  JSON.parse(readFileSync(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json'), 'utf8')),
  parseRegionTable(readFileSync(resolve(ROOT, 'data/regions/awsData.js'), 'utf8')),
);
const COST: RequestCost = { cpuMs: 10, memoryMbPerConcurrent: 50, bytesOut: 10_000, latencyMs: 100 };
const T0 = Date.parse('2026-12-01T00:00:00Z');
const MIN = 60_000;

function pool(region: string, cpuCores: number, delaySeconds = 600): RegionPool {
  return {
    region,
    capacity: { cpuCores, memoryGiB: cpuCores * 4, egressMbps: cpuCores * 100 },
    provisioningDelaySeconds: delaySeconds,
    costPerHour: { cpuCore: 0.04, memoryGiB: 0.005, egressMbps: 0.001 },
    endpoints: { ipv4: ['192.0.2.1'], ipv6: [] },
  };
}

function view(pools: RegionPool[], committed: Record<string, ResourceNeed> = {}): PoolsView {
  return { pools: new Map(pools.map((p) => [p.region, p])), committed: new Map(Object.entries(committed)) };
}

/** A 48 h forecast at 5-minute steps: `ratePerSecond(stepStartMs)` at p90, p50 at 90 % of it, p99 at 130 % (the pro tier's p90 × 1.2 is over the default budget, p50 ÷ 0.85: tests of the tier's own quantile run `unbudgeted`). */
function forecast(region: string, ratePerSecond: (ms: number) => number, extra: Partial<DemandForecast> = {}, tier: Tier = 'pro'): DemandForecast {
  const steps = 576;
  const p90 = Array.from({ length: steps }, (_, i) => Math.round(ratePerSecond(T0 + i * 300_000) * 300));
  const at = (k: number) => p90.map((v) => Math.round(v * k));
  return {
    kind: 'forecast',
    domain: 'app.example.com',
    region,
    generatedAt: new Date(T0).toISOString(),
    startAt: new Date(T0).toISOString(),
    stepSeconds: 300,
    steps,
    unit: 1,
    requests: { p05: at(0.6), p10: at(0.7), p50: at(0.9), p90, p95: at(1.1), p99: at(1.3) },
    model: { name: 'prior', selected: 'prior', mase: null, baselineMase: null, selectedAt: null },
    confidence: 'low',
    forecastOnly: false,
    priorWeight: 1,
    tier,
    provisionQuantile: TierPolicy[tier].quantile,
    requestCost: COST,
    reason: 'registered',
    ...extra,
  } as DemandForecast;
}

const constant = (rps: number) => () => rps;
const cpuFor = (rps: number) => resourcesForRate(rps, COST).cpuCores;
const run = (state: DomainAllocationState, input: AllocationInput, pools: PoolsView, policy = DefaultAllocationPolicy) => decide(state, input, pools, latency, COST, policy);
/** The tier's quantile and headroom whatever they cost. */
const unbudgeted = { ...DefaultAllocationPolicy, budgetUtilisation: null };

describe('decide: what each (domain, region) holds', () => {
  it('a registration prior places capacity before the first request, at the tier quantile with its headroom', () => {
    const d = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f1', forecast: forecast('us-east-1', constant(100)) }, view([pool('us-east-1', 100)]), unbudgeted);
    expect(d.plan!.regions).toHaveLength(1);
    const r = d.plan!.regions[0];
    expect(r).toMatchObject({ region: 'us-east-1', reason: 'prior', quantile: 'p90', shortRequestsPerSecond: 0 });
    expect(r.requestsPerSecond).toBeCloseTo(100 * TierPolicy.pro.headroom, 9);
    expect(r.reserved.cpuCores).toBeCloseTo(cpuFor(120), 9);
    expect(r.servedByOrigin).toEqual([{ origin: 'us-east-1', requestsPerSecond: r.requestsPerSecond, forecastEventId: 'f1' }]);
    expect(d.ledger).toEqual([{ region: 'us-east-1', from: ZERO, to: r.reserved }]);
    expect(d.plan!.version).toBe(1);
  });

  it('a forecast mostly from data is proactive; one marked forecastOnly falls back to the reactive policy', () => {
    const pools = view([pool('us-east-1', 100)]);
    const fitted = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f1', forecast: forecast('us-east-1', constant(100), { priorWeight: 0.1 }) }, pools);
    expect(fitted.plan!.regions[0].reason).toBe('proactive');

    let s = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f1', forecast: forecast('us-east-1', constant(500), { priorWeight: 0, forecastOnly: true }) }, pools);
    expect(s.plan!.regions).toEqual([]); // nothing observed yet: the reactive policy holds nothing
    s = run(s.state, { kind: 'observed', atMs: T0 + MIN, region: 'us-east-1', ratePerSecond: 70 }, pools);
    expect(s.plan!.regions[0]).toMatchObject({ reason: 'reactive', quantile: null });
    expect(s.plan!.regions[0].requestsPerSecond).toBeCloseTo(70 / DefaultAllocationPolicy.targetUtilisation, 9);
  });

  it('reserves for the peak that arrives within the provisioning delay and the decision interval, not for one after it', () => {
    const pools = view([pool('us-east-1', 1000, 600)]);
    const peakAt = (startMin: number) => (ms: number) => (ms >= T0 + startMin * MIN && ms < T0 + (startMin + 10) * MIN ? 400 : 100);
    const soon = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'a', forecast: forecast('us-east-1', peakAt(8)) }, pools, unbudgeted);
    expect(soon.plan!.regions[0].requestsPerSecond).toBeCloseTo(400 * 1.2, 9); // 8 min < 10 min delay + 1 min decision interval
    const later = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'b', forecast: forecast('us-east-1', peakAt(15)) }, pools, unbudgeted);
    expect(later.plan!.regions[0].requestsPerSecond).toBeCloseTo(100 * 1.2, 9);
    // The published schedule still shows the later peak, ahead of it by the provisioning delay.
    const block = later.plan!.regions[0].schedule[0];
    expect(block.reserved.cpuCores).toBeCloseTo(cpuFor(480), 9);
  });

  it('never scales below observed demand plus the margin on a forecast alone (the reactive net)', () => {
    const pools = view([pool('us-east-1', 1000)]);
    let d = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f', forecast: forecast('us-east-1', constant(10), { priorWeight: 0 }) }, pools, unbudgeted);
    d = run(d.state, { kind: 'observed', atMs: T0 + MIN, region: 'us-east-1', ratePerSecond: 200 }, pools, unbudgeted);
    expect(d.plan!.regions[0]).toMatchObject({ reason: 'reactive' });
    expect(d.plan!.regions[0].requestsPerSecond).toBeCloseTo(200 * 1.2, 9);
  });

  it('scales in only to the highest target of the stabilisation window, one step per decision; small dips hold', () => {
    const pools = view([pool('us-east-1', 1000)]);
    let d = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f', forecast: forecast('us-east-1', constant(100)) }, pools, unbudgeted);
    const held = d.plan!.regions[0].requestsPerSecond;
    expect(held).toBeCloseTo(120, 9);
    const f = (rps: number, id: string, at: number) => ({ kind: 'forecast' as const, atMs: at, eventId: id, forecast: forecast('us-east-1', constant(rps), { generatedAt: new Date(at).toISOString() }) });
    d = run(d.state, f(95, 'dip', T0 + MIN), pools, unbudgeted);
    expect(d.ledger).toEqual([]); // the window holds 120: a dip moves nothing
    expect(d.plan).toBeNull();
    d = run(d.state, f(20, 'drop', T0 + 2 * MIN), pools, unbudgeted);
    expect(d.ledger).toEqual([]); // the window still holds 120 and 114
    const { scaleInDelayMs, maxScaleInStep } = DefaultAllocationPolicy;
    d = run(d.state, { kind: 'tick', atMs: T0 + scaleInDelayMs - 1 }, pools, unbudgeted);
    expect(d.ledger).toEqual([]); // 120 is still in the window
    d = run(d.state, { kind: 'tick', atMs: T0 + MIN + scaleInDelayMs - 1 }, pools, unbudgeted);
    expect(d.plan!.regions[0].requestsPerSecond).toBeCloseTo(114, 9); // down to the window's highest: the dip's
    d = run(d.state, { kind: 'tick', atMs: T0 + MIN + scaleInDelayMs }, pools, unbudgeted);
    expect(d.plan!.regions[0].requestsPerSecond).toBeCloseTo(114 * (1 - maxScaleInStep), 9); // one step down
    d = run(d.state, { kind: 'tick', atMs: T0 + 2 * MIN + scaleInDelayMs }, pools, unbudgeted);
    expect(d.plan!.regions[0].requestsPerSecond).toBeCloseTo(Math.max(24, 114 * (1 - maxScaleInStep) ** 2), 9); // and another
    d = run(d.state, { kind: 'tick', atMs: T0 + 3 * MIN + scaleInDelayMs }, pools, unbudgeted);
    expect(d.plan!.regions[0].requestsPerSecond).toBeCloseTo(24, 9); // never below the target
    d = run(d.state, f(300, 'surge', T0 + 34 * MIN), pools, unbudgeted);
    expect(d.plan!.regions[0].requestsPerSecond).toBeCloseTo(360, 9); // up at once
  });

  it('on the reactive policy (a forecastOnly series) scales in as the HPA does: after the window, to its highest at once', () => {
    const pools = view([pool('us-east-1', 1000)]);
    const { scaleInDelayMs, targetUtilisation, reactiveMaxScaleInStep } = DefaultAllocationPolicy;
    expect(reactiveMaxScaleInStep).toBe(1);
    const observed = (rps: number, at: number): AllocationInput => ({ kind: 'observed', atMs: at, region: 'us-east-1', ratePerSecond: rps });
    let d = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f', forecast: forecast('us-east-1', constant(500), { priorWeight: 0, forecastOnly: true }) }, pools);
    d = run(d.state, observed(140, T0), pools);
    expect(d.plan!.regions[0]).toMatchObject({ reason: 'reactive', requestsPerSecond: expect.closeTo(140 / targetUtilisation, 9) });
    d = run(d.state, observed(14, T0 + MIN), pools);
    expect(d.plan).toBeNull(); // 200 is still the window's highest
    d = run(d.state, { kind: 'tick', atMs: T0 + MIN + scaleInDelayMs }, pools);
    expect(d.plan!.regions[0].requestsPerSecond).toBeCloseTo(14 / targetUtilisation, 9); // one decision, not halving steps
  });

  describe('under a forecast, scale-in goes at the pace of what set the level held', () => {
    // A spike the forecast did not see is held by the observed floor (observed × (1 + margin)).
    // Halving steps from there kept orders for 5-minute spikes alive that the HPA cancels before
    // they are up: ec2_network_in_5abac7 (data/validation), gate off, cost 2.68× the HPA, 0.805× now.
    const pools = view([pool('us-east-1', 1000)]);
    const { scaleInDelayMs, observedMargin, maxScaleInStep } = DefaultAllocationPolicy;
    const observed = (rps: number, at: number): AllocationInput => ({ kind: 'observed', atMs: at, region: 'us-east-1', ratePerSecond: rps });
    const onForecast = (rps: number) => run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f', forecast: forecast('us-east-1', constant(rps), { priorWeight: 0 }) }, pools, unbudgeted);

    it('what the floor set goes at once after the window, to the floor or to the forecast below it', () => {
      for (const after of [14, 5]) {
        let d = onForecast(10);
        expect(d.plan!.regions[0]).toMatchObject({ reason: 'proactive', requestsPerSecond: expect.closeTo(12, 9) });
        d = run(d.state, observed(140, T0 + MIN), pools, unbudgeted);
        expect(d.plan!.regions[0]).toMatchObject({ reason: 'reactive', requestsPerSecond: expect.closeTo(140 * (1 + observedMargin), 9) });
        d = run(d.state, observed(after, T0 + 2 * MIN), pools, unbudgeted);
        d = run(d.state, { kind: 'tick', atMs: T0 + 2 * MIN + scaleInDelayMs }, pools, unbudgeted);
        expect(d.plan!.regions[0].requestsPerSecond).toBeCloseTo(Math.max(12, after * (1 + observedMargin)), 9); // one decision, not halving steps
      }
    });

    it("a forecast's own level goes by halves, also when the floor is the target it falls to", () => {
      let d = onForecast(250);
      expect(d.plan!.regions[0].requestsPerSecond).toBeCloseTo(300, 9);
      d = run(d.state, observed(50, T0 + MIN), pools, unbudgeted);
      d = run(d.state, { kind: 'forecast', atMs: T0 + 2 * MIN, eventId: 'g', forecast: forecast('us-east-1', constant(10), { priorWeight: 0, generatedAt: new Date(T0 + 2 * MIN).toISOString() }) }, pools, unbudgeted);
      d = run(d.state, { kind: 'tick', atMs: T0 + 2 * MIN + scaleInDelayMs }, pools, unbudgeted);
      expect(d.plan!.regions[0].requestsPerSecond).toBeCloseTo(300 * (1 - maxScaleInStep), 9); // floor 60 is the target: one step down
    });
  });

  it('spills what the home pool cannot take to the next-closest pool within reach, and says what is left short', () => {
    const pools = view([pool('us-east-1', cpuFor(50)), pool('us-east-2', cpuFor(60)), pool('eu-west-1', 1000), pool('ap-southeast-2', 1000)]);
    const d = run(newDomainState('app.example.com', 'enterprise'), { kind: 'forecast', atMs: T0, eventId: 'f', forecast: forecast('us-east-1', constant(100), {}, 'enterprise') }, pools, unbudgeted);
    const by = Object.fromEntries(d.plan!.regions.map((r) => [r.region, r]));
    const want = 100 * 1.3 * TierPolicy.enterprise.headroom; // enterprise provisions p99: 130 % of p90 in the fixture
    expect(by['us-east-1'].requestsPerSecond).toBeCloseTo(50, 6);
    expect(by['us-east-2']).toMatchObject({ reason: 'spill', quantile: null });
    expect(by['us-east-2'].requestsPerSecond).toBeCloseTo(60, 6); // the closest (Ohio) fills first
    expect(by['eu-west-1'].requestsPerSecond).toBeCloseTo(want - 110, 6); // then Ireland (about 70 ms)
    expect(by['eu-west-1'].servedByOrigin).toEqual([{ origin: 'us-east-1', requestsPerSecond: by['eu-west-1'].requestsPerSecond, forecastEventId: 'f' }]);
    expect(by['ap-southeast-2']).toBeUndefined(); // beyond the spill round trip
    expect(by['us-east-1']).toMatchObject({ reason: 'prior', quantile: 'p99' });

    const tight = view([pool('us-east-1', cpuFor(50)), pool('ap-southeast-2', 1000)]);
    const short = run(newDomainState('app.example.com', 'enterprise'), { kind: 'forecast', atMs: T0, eventId: 'f', forecast: forecast('us-east-1', constant(100), {}, 'enterprise') }, tight, unbudgeted);
    expect(short.plan!.regions).toHaveLength(1);
    expect(short.plan!.regions[0]).toMatchObject({ region: 'us-east-1', reason: 'limit' });
    expect(short.plan!.regions[0].shortRequestsPerSecond).toBeCloseTo(want - 50, 6);
    expect(short.plan!.shortByOrigin).toEqual([{ origin: 'us-east-1', requestsPerSecond: short.plan!.regions[0].shortRequestsPerSecond }]);
  });

  it('priority by tier: a free domain stops at its ceiling, the rest of the pool stays for paying tiers', () => {
    const p = pool('us-east-1', cpuFor(100));
    const full = { 'us-east-1': scaleNeed(p.capacity, 0.75) };
    const free = run(newDomainState('a.example.com', 'free'), { kind: 'forecast', atMs: T0, eventId: 'f', forecast: forecast('us-east-1', constant(50), {}, 'free') }, view([p], full));
    expect(free.plan!.regions[0].requestsPerSecond).toBeCloseTo(5, 6); // 80 % − 75 % of a 100 req/s pool
    expect(free.plan!.regions[0].reason).toBe('limit');
    const ent = run(newDomainState('b.example.com', 'enterprise'), { kind: 'forecast', atMs: T0, eventId: 'f', forecast: forecast('us-east-1', constant(50), {}, 'enterprise') }, view([p], full), unbudgeted);
    expect(ent.plan!.regions[0].requestsPerSecond).toBeCloseTo(25, 6); // up to 100 %
  });

  it('a deregistered domain releases everything and publishes a final, empty plan', () => {
    const pools = view([pool('us-east-1', 100), pool('eu-west-1', 100)]);
    let d = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f1', forecast: forecast('us-east-1', constant(100)) }, pools);
    d = run(d.state, { kind: 'forecast', atMs: T0, eventId: 'f2', forecast: forecast('eu-west-1', constant(100)) }, pools);
    const before = d.state.version;
    d = run(d.state, { kind: 'deregistered', atMs: T0 + MIN, eventId: 'gone' }, pools);
    expect(d.plan).toMatchObject({ version: before + 1, regions: [] });
    expect(d.ledger.map((l) => [l.region, l.to])).toEqual(expect.arrayContaining([['us-east-1', ZERO], ['eu-west-1', ZERO]]));
    expect(d.state.reserved).toEqual({});
  });

  it('the same forecast delivered twice changes nothing the second time; an older one is ignored', () => {
    const pools = view([pool('us-east-1', 100)]);
    const first = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f1', forecast: forecast('us-east-1', constant(100)) }, pools);
    const again = run(first.state, { kind: 'forecast', atMs: T0, eventId: 'f1', forecast: forecast('us-east-1', constant(100)) }, pools);
    expect(again.ledger).toEqual([]);
    expect(again.plan).toBeNull();
    const older = run(first.state, { kind: 'forecast', atMs: T0 + MIN, eventId: 'f0', forecast: forecast('us-east-1', constant(900), { generatedAt: new Date(T0 - MIN).toISOString() }) }, pools);
    expect(older.ledger).toEqual([]);
  });

  it('a forecast that begins after now keeps what the one it replaces said of the step under way: at 30-minute steps capacity does not flap', () => {
    const pools = view([pool('us-east-1', 1000)]);
    const iso = (ms: number) => new Date(ms).toISOString();
    /** Half-hourly steps at a constant p90 rate, as the forecaster sends for a 30-minute series. */
    const halfHourly = (rps: number, startMs: number, extra: Partial<DemandForecast> = {}): DemandForecast => {
      const f = forecast('us-east-1', constant(rps), { priorWeight: 0 });
      const requests = Object.fromEntries(QuantileLevels.map((l) => [l, f.requests[l].slice(0, 96).map((v) => v * 6)])) as DemandForecast['requests'];
      return { ...f, stepSeconds: 1800, steps: 96, startAt: iso(startMs), generatedAt: iso(startMs), requests, ...extra };
    };
    let d = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f1', forecast: halfHourly(100, T0) }, pools, unbudgeted);
    // A quarter past: the step under way is half measured, so the next forecast starts at the half hour, lower.
    const next = halfHourly(80, T0 + 30 * MIN, { generatedAt: iso(T0 + 15 * MIN) });
    const held: number[] = [];
    for (let m = 1; m < 30; m++) {
      if (m === 15) d = run(d.state, { kind: 'forecast', atMs: T0 + m * MIN, eventId: 'f2', forecast: next }, pools, unbudgeted);
      d = run(d.state, { kind: 'observed', atMs: T0 + m * MIN, region: 'us-east-1', ratePerSecond: 50 }, pools, unbudgeted);
      held.push(d.state.origins['us-east-1'].heldRate);
    }
    // The step under way stays at its forecast (p90 100 × 1.2) until it ends; without it the origin fell to the observed floor's stabilised peak, then came back up.
    expect(held.every((r) => Math.abs(r - 120) < 1e-9)).toBe(true);
    const o = d.state.origins['us-east-1'];
    expect(o.forecastEventId).toBe('f2');
    expect(o.forecast).toMatchObject({ startAt: iso(T0), steps: 97, model: next.model });
    expect(o.forecast!.requests.p90.slice(0, 2)).toEqual([100 * 1800, 80 * 1800]);
    // After the half hour the new forecast's level holds, reached by the usual scale-in.
    for (let m = 30; m < 40; m++) d = run(d.state, { kind: 'observed', atMs: T0 + m * MIN, region: 'us-east-1', ratePerSecond: 50 }, pools, unbudgeted);
    expect(d.state.origins['us-east-1'].heldRate).toBeCloseTo(96, 9);
  });

  it('keeps nothing of the forecast replaced when the new one covers now, has another step or grid, another verdict, or a prior on one side only', () => {
    const iso = (ms: number) => new Date(ms).toISOString();
    const held = forecast('us-east-1', constant(100), { priorWeight: 0 });
    const at = (startMs: number, extra: Partial<DemandForecast> = {}) => forecast('us-east-1', constant(80), { priorWeight: 0, startAt: iso(startMs), generatedAt: iso(T0 + 3 * MIN), ...extra });
    const now = T0 + 3 * MIN;
    const spliced = withStepUnderWay(held, at(T0 + 5 * MIN), now);
    expect(spliced).toMatchObject({ startAt: iso(T0), steps: 577 });
    expect(spliced.requests.p50[0]).toBe(held.requests.p50[0]);
    expect(spliced.requests.p50[1]).toBe(at(T0).requests.p50[0]);
    // Steps of the held forecast from the step under way only, however late in its horizon.
    const later = withStepUnderWay(held, at(T0 + 100 * 300_000), T0 + 98 * 300_000 + MIN);
    expect(later).toMatchObject({ startAt: iso(T0 + 98 * 300_000), steps: 578 });
    const refused: Array<[DemandForecast | null, DemandForecast, number]> = [
      [held, at(T0), now], // covers now
      [held, at(T0 + 2 * MIN), now], // began before now
      [held, at(T0 + 7 * MIN), now], // after now, off the held forecast's grid
      [held, at(T0 + 10 * MIN, { stepSeconds: 600 }), now], // another step
      [held, at(T0 + 5 * MIN, { forecastOnly: true }), now], // another verdict
      [held, at(T0 + 5 * MIN, { priorWeight: 0.8 }), now], // a prior after a fitted forecast
      [{ ...held, priorWeight: 1 }, at(T0 + 5 * MIN), now], // a fitted forecast after a prior: the prior's step is not the forecasts' to account
      [held, at(T0 + 577 * 300_000), T0 + 575 * 300_000], // starts past the held horizon
      [held, at(T0 + 578 * 300_000), T0 + 577 * 300_000], // held expired before now
      [{ ...held, startAt: iso(T0 + 10 * MIN) }, at(T0 + 10 * MIN), now], // held begins where the new one does: nothing before it to keep
      [{ ...held, startAt: iso(T0 + 20 * MIN) }, at(T0 + 10 * MIN), now], // held begins after the new one
      [held, at(T0 + 5 * MIN, { steps: 4032, requests: Object.fromEntries(QuantileLevels.map((l) => [l, new Array<number>(4032).fill(1)])) as DemandForecast['requests'] }), now], // past the contract's step limit
      [null, at(T0 + 5 * MIN), now],
    ];
    refused.forEach(([h, next, t], i) => expect([i, withStepUnderWay(h, next, t)]).toEqual([i, next]));
    // A held forecast that begins after now too keeps what it covers before the new one's start (the floor holds until then).
    expect(withStepUnderWay(held, at(T0 + 5 * MIN), T0 - 10 * MIN)).toMatchObject({ startAt: iso(T0), steps: 577 });
    // The held forecast's last step, under way, is kept.
    expect(withStepUnderWay(held, at(T0 + 576 * 300_000), T0 + 576 * 300_000 - MIN)).toMatchObject({ startAt: iso(T0 + 575 * 300_000), steps: 577 });
    // A forecast spliced already is spliced again from the step under way: the state does not grow.
    const again = withStepUnderWay(spliced, at(T0 + 10 * MIN, { generatedAt: iso(T0 + 8 * MIN) }), T0 + 8 * MIN);
    expect(again).toMatchObject({ startAt: iso(T0 + 5 * MIN), steps: 577 });
    expect(again.requests.p50[0]).toBe(spliced.requests.p50[1]);
    // A held forecast in another unit is rescaled: the rate it said holds.
    const coarseUnit = at(T0 + 5 * MIN, { unit: 10, requests: Object.fromEntries(QuantileLevels.map((l) => [l, held.requests[l].map((v) => v / 10)])) as DemandForecast['requests'] });
    expect(withStepUnderWay(held, coarseUnit, now).requests.p90[0] * 10).toBeCloseTo(held.requests.p90[0], 9);
  });
});

describe('decide: property', () => {
  const REGIONS = ['us-east-1', 'us-east-2', 'eu-west-1', 'eu-central-1'];
  const input = fc.oneof(
    fc.record({ kind: fc.constant('forecast' as const), domain: fc.integer({ min: 0, max: 5 }), region: fc.constantFrom(...REGIONS), rps: fc.double({ min: 0, max: 2000, noNaN: true }), forecastOnly: fc.boolean(), priorWeight: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.record({ kind: fc.constant('observed' as const), domain: fc.integer({ min: 0, max: 5 }), region: fc.constantFrom(...REGIONS), rps: fc.double({ min: 0, max: 3000, noNaN: true }) }),
    fc.record({ kind: fc.constant('deregistered' as const), domain: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ kind: fc.constant('tick' as const), domain: fc.integer({ min: 0, max: 5 }) }),
  );

  it('whatever arrives, no pool is ever committed past its capacity, nor past the ceiling of a tier that raised it', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1, max: 80, noNaN: true }), { minLength: 4, maxLength: 4 }), fc.array(input, { minLength: 1, maxLength: 60 }), (cores, inputs) => {
        const pools = REGIONS.map((r, i) => pool(r, cores[i]));
        const committed = new Map<string, ResourceNeed>(REGIONS.map((r) => [r, ZERO]));
        const states = new Map<number, DomainAllocationState>();
        const tierOf = (d: number): Tier => Tiers[d % 3];
        let now = T0;
        for (const x of inputs) {
          now += 3 * MIN;
          const state = states.get(x.domain) ?? newDomainState(`d${x.domain}.example.com`, tierOf(x.domain));
          const v: PoolsView = { pools: new Map(pools.map((p) => [p.region, p])), committed };
          const inputAt: AllocationInput =
            x.kind === 'forecast'
              ? { kind: 'forecast', atMs: now, eventId: `e${now}`, forecast: forecast(x.region, constant(x.rps), { forecastOnly: x.forecastOnly, priorWeight: x.priorWeight, generatedAt: new Date(now).toISOString(), startAt: new Date(now).toISOString(), domain: `d${x.domain}.example.com` }, tierOf(x.domain)) }
              : x.kind === 'observed'
                ? { kind: 'observed', atMs: now, region: x.region, ratePerSecond: x.rps }
                : { kind: x.kind, atMs: now, eventId: `e${now}` } as AllocationInput;
          const d = decide(state, inputAt, v, latency, COST);
          for (const l of d.ledger) {
            const total = addNeed(subtractNeed(committed.get(l.region)!, l.from), l.to);
            committed.set(l.region, total);
            const p = pools.find((q) => q.region === l.region)!;
            expect(fitsWithin(total, p.capacity)).toBe(true);
            if (l.to.cpuCores > l.from.cpuCores) expect(fitsWithin(total, scaleNeed(p.capacity, TierPoolCeiling[state.tier]))).toBe(true);
          }
          // The plan says what the ledger holds, and is a valid capacity.plan.v1 with a version that only grows.
          if (d.plan) {
            for (const r of d.plan.regions) expect(r.reserved).toEqual(d.state.reserved[r.region] ?? ZERO);
            expect(CapacityPlanSchema.safeParse(toCapacityPlan(d.plan, `plan-${now}`)).error).toBeUndefined();
            expect(d.plan.version).toBe(state.version + 1);
          }
          states.set(x.domain, d.state);
        }
        // Quantiles are published for every level a tier may ask (a sanity check of the fixture).
        expect(QuantileLevels).toContain(TierPolicy.pro.quantile);
      }),
      { numRuns: 200 },
    );
  });
});

describe('provisionLevel: a budget moves capacity to where the forecast is uncertain', () => {
  /** p50 constant; the upper quantiles wide in the first half of the horizon, tight in the second. */
  function uneven(): DemandForecast {
    const f = forecast('us-east-1', constant(100));
    const steps = f.steps;
    const p50 = Array.from({ length: steps }, () => 30_000);
    const spread = (i: number, k: number) => Math.round(30_000 * (i < steps / 2 ? k : 1 + (k - 1) / 10));
    return {
      ...f,
      requests: {
        p05: p50.map(() => 20_000),
        p10: p50.map(() => 22_000),
        p50,
        p90: p50.map((_, i) => spread(i, 2)),
        p95: p50.map((_, i) => spread(i, 2.5)),
        p99: p50.map((_, i) => spread(i, 3.5)),
      },
    };
  }
  const total = (f: DemandForecast, budget: number | null) => {
    let sum = 0;
    for (let s = 0; s < f.steps; s++) sum += forecastWindowRate(f, T0 + s * 300_000, T0 + s * 300_000 + 1, budget)!;
    return sum;
  };

  it('without a budget, or when the tier costs less than the budget, provisions the tier quantile with its headroom', () => {
    const f = uneven();
    expect(provisionLevel(f, null)).toEqual(expect.objectContaining({ quantile: 'p90', multiplier: TierPolicy.pro.headroom }));
    expect(forecastWindowRate(f, T0, T0 + 1, null)).toBeCloseTo(200 * 1.2, 6);
    const tight = forecast('us-east-1', constant(100)); // p90 × 1.2 = 1.33 × p50 ≤ p50 ÷ 0.7
    expect(provisionLevel(tight, 0.7)).toEqual(expect.objectContaining({ quantile: 'p90', multiplier: TierPolicy.pro.headroom }));
  });

  it('over budget, spends the budget at one lower level for every step: more where the forecast is wide', () => {
    const f = uneven();
    const budget = (f.steps * 100) / 0.7;
    const level = provisionLevel(f, 0.7);
    expect(level.multiplier).toBe(1);
    expect(level.quantile).toBe('p50');
    expect(total(f, 0.7)).toBeCloseTo(budget, 0);
    const wide = forecastWindowRate(f, T0, T0 + 1, 0.7)!;
    const tight = forecastWindowRate(f, T0 + (f.steps - 1) * 300_000, T0 + (f.steps - 1) * 300_000 + 1, 0.7)!;
    expect(wide).toBeGreaterThan(tight);
    expect(tight).toBeGreaterThanOrEqual(100);
  });
});

describe('the spend guard: an origin that held more on forecasts than the reactive policy would have is held at the median; a forecast whose median costs more is set aside', () => {
  const observed = (rps: number, at: number): AllocationInput => ({ kind: 'observed', atMs: at, region: 'us-east-1', ratePerSecond: rps });
  const origin = (o: Partial<OriginDemand>): OriginDemand => ({ forecast: null, forecastEventId: null, observed: null, heldRate: 0, recentTargets: [], heldReason: 'reactive', heldQuantile: null, ...o });
  const policy = DefaultAllocationPolicy;
  const account = (a: Partial<SpendAccount>): SpendAccount => ({
    atMs: T0,
    held: 0,
    baseline: 0,
    measuredMs: policy.spendWarmUpMs,
    medianLately: 0,
    baselineLately: 0,
    latelyMs: policy.spendRecentTimeConstantMs,
    medianRate: null,
    baselineRecent: [{ atMs: T0, rate: 100 }],
    stage: 'within',
    counted: true,
    ...a,
  });
  const decay = (ms: number) => Math.exp(-ms / policy.spendTimeConstantMs);
  const decayLately = (ms: number) => Math.exp(-ms / policy.spendRecentTimeConstantMs);

  it('accounts what the origin held on forecasts against the baseline’s stabilised peak, only while demand is measured', () => {
    const first = accountSpend(origin({ heldRate: 50, observed: { ratePerSecond: 70, atMs: T0 } }), T0, policy);
    expect(first).toEqual({ atMs: T0, held: 0, baseline: 0, measuredMs: 0, medianLately: 0, baselineLately: 0, latelyMs: 0, medianRate: null, baselineRecent: [{ atMs: T0, rate: 100 }], stage: 'within', setAside: false, atMedian: false, counted: false });
    // A minute on a forecast whose median stage would have held 80: demand has fallen, the baseline still holds its window's peak (100).
    const second = accountSpend(origin({ heldRate: 120, observed: { ratePerSecond: 7, atMs: T0 + MIN }, spend: { ...first, counted: true, medianRate: 80 } }), T0 + MIN, policy);
    expect(second).toMatchObject({ held: expect.closeTo(120 * MIN, 6), baseline: expect.closeTo(100 * MIN, 6), measuredMs: MIN, medianLately: expect.closeTo(80 * MIN, 6), baselineLately: expect.closeTo(100 * MIN, 6), latelyMs: MIN });
    expect(second.baselineRecent).toEqual([{ atMs: T0, rate: 100 }, { atMs: T0 + MIN, rate: 10 }]);
    // A minute on the reactive policy for its own reasons (no usable forecast) counts for neither side.
    const neutral = accountSpend(origin({ heldRate: 10, observed: { ratePerSecond: 7, atMs: T0 + 2 * MIN }, spend: { ...second, counted: false } }), T0 + 2 * MIN, policy);
    expect(neutral).toMatchObject({ held: expect.closeTo(second.held * decay(MIN), 3), baseline: expect.closeTo(second.baseline * decay(MIN), 3), measuredMs: expect.closeTo(MIN * decay(MIN), 6) });
    expect(neutral).toMatchObject({ medianLately: expect.closeTo(second.medianLately * decayLately(MIN), 3), baselineLately: expect.closeTo(second.baselineLately * decayLately(MIN), 3) });
    // A minute in the guard's reactive stage is the reactive policy's: only the median it set aside counts.
    const setAside = accountSpend(origin({ heldRate: 500, observed: { ratePerSecond: 7, atMs: T0 + 2 * MIN }, spend: { ...second, stage: 'reactive', medianRate: 300 } }), T0 + 2 * MIN, policy);
    expect(setAside).toMatchObject({ held: expect.closeTo(second.held * decay(MIN), 3), baseline: expect.closeTo(second.baseline * decay(MIN), 3), measuredMs: expect.closeTo(MIN * decay(MIN), 6) });
    expect(setAside.medianLately).toBeCloseTo(second.medianLately * decayLately(MIN) + 300 * MIN, 3);
    expect(setAside.baselineLately).toBeCloseTo(second.baselineLately * decayLately(MIN) + 100 * MIN, 3);
  });

  it('counts a long gap at most for as long as an observation is fresh; the interval after it, begun with nothing measured, not at all', () => {
    const start = account({ held: 0, baseline: 0, measuredMs: 0, baselineRecent: [{ atMs: T0, rate: 100 }] });
    const gap = 3 * 3_600_000;
    const after = accountSpend(origin({ heldRate: 120, observed: { ratePerSecond: 70, atMs: T0 }, spend: start }), T0 + gap, policy);
    expect(after).toMatchObject({ held: expect.closeTo(120 * policy.observedTtlMs, 3), baseline: expect.closeTo(100 * policy.observedTtlMs, 3), measuredMs: policy.observedTtlMs, baselineRecent: [] });
    const next = accountSpend(origin({ heldRate: 120, observed: { ratePerSecond: 70, atMs: T0 + gap + MIN }, spend: after }), T0 + gap + MIN, policy);
    expect(next.held).toBeCloseTo(after.held * decay(MIN), 3);
    expect(next.baselineRecent).toEqual([{ atMs: T0 + gap + MIN, rate: 100 }]);
    // Time going backwards (a redelivered observation) changes nothing.
    expect(accountSpend(origin({ heldRate: 1, spend: next }), T0, policy)).toBe(next);
  });

  it('enters a stage above its ceiling and leaves it only below the ceiling less the hysteresis; nothing before the warm-up', () => {
    const { spendCeiling, spendReactiveCeiling, spendHysteresis } = policy;
    expect([spendCeiling, spendReactiveCeiling, spendHysteresis]).toEqual([0.9, 0.93, 0.05]);
    // `ratio`: the account's, held ÷ baseline; `median`: what the median would have held lately ÷ the baseline then.
    // `held`: the verdicts in force before (each verdict's own band applies only while it holds).
    const at = (ratio: number, median: number, held: Pick<SpendAccount, 'setAside' | 'atMedian'> = {}) =>
      guardStage(account({ held: ratio * 1000, baseline: 1000, medianLately: median * 1000, baselineLately: 1000, ...held }), policy);
    expect(at(0.9, 0.7)).toBe('within');
    expect(at(0.9001, 0.7)).toBe('median');
    expect(at(0.86, 0.7, { atMedian: true })).toBe('median');
    expect(at(0.85, 0.7, { atMedian: true })).toBe('within');
    // A median that costs more than the baseline lately is a forecast biased high: set aside, whatever the account.
    const c = spendReactiveCeiling;
    expect(at(0.5, c)).toBe('within');
    expect(at(0.5, c + 0.0001)).toBe('reactive');
    expect(at(1.5, c + 0.0001)).toBe('reactive');
    expect(at(1.5, c - 0.045, { setAside: true })).toBe('reactive');
    expect(at(1.5, c - 0.055, { setAside: true })).toBe('median');
    // Leaving the reactive stage, the account's verdict holds as it was, with its own band.
    expect(at(0.87, c - 0.055, { setAside: true })).toBe('within');
    expect(at(0.87, c - 0.055, { setAside: true, atMedian: true })).toBe('median');
    expect(at(0.87, c - 0.045, { setAside: true, atMedian: true })).toBe('reactive');
    // Each sum waits for its own warm-up.
    expect(guardStage(account({ held: 5000, baseline: 1000, medianLately: 500, baselineLately: 1000, measuredMs: policy.spendWarmUpMs - 1 }), policy)).toBe('within');
    expect(guardStage(account({ held: 500, baseline: 1000, medianLately: 5000, baselineLately: 1000, measuredMs: 0, latelyMs: policy.spendRecentTimeConstantMs / 2 }), policy)).toBe('reactive');
    expect(guardStage(account({ held: 500, baseline: 1000, medianLately: 5000, baselineLately: 1000, latelyMs: policy.spendRecentTimeConstantMs / 2 - 1 }), policy)).toBe('within');
    expect(guardStage(account({ held: 5000, baseline: 0, medianLately: 5000, baselineLately: 0 }), policy)).toBe('reactive');
    // Nothing measured now: the reactive policy would hold nothing, the median holds; the verdict stays.
    const unmeasured = account({ held: 500, baseline: 1000, medianLately: 5000, baselineLately: 1000, baselineRecent: [] });
    expect(guardStage(unmeasured, policy)).toBe('median');
    expect(guardVerdicts(unmeasured, policy)).toEqual({ setAside: true, atMedian: false });
    expect(guardStage(account({ held: 5000, baseline: 1000, medianLately: 5000, baselineLately: 1000 }), { ...policy, spendCeiling: null })).toBe('within');
    expect(guardStage(undefined, policy)).toBe('within');

    const o = origin({ forecast: forecast('us-east-1', constant(100), { priorWeight: 0 }), observed: { ratePerSecond: 50, atMs: T0 } });
    expect(originTarget(o, T0, 600_000, unbudgeted, 'within')).toMatchObject({ rate: expect.closeTo(120, 9), quantile: 'p90', onForecast: true });
    expect(originTarget(o, T0, 600_000, unbudgeted, 'median')).toMatchObject({ rate: expect.closeTo(90, 9), quantile: 'p50', onForecast: true });
    expect(originTarget(o, T0, 600_000, unbudgeted, 'reactive')).toMatchObject({ rate: expect.closeTo(50 / policy.targetUtilisation, 9), reason: 'reactive', onForecast: false });
    // A forecast that begins after the window (a coarse step: the step under way is measured, not forecast): the observed floor holds, on the forecast.
    const ahead = origin({ forecast: forecast('us-east-1', constant(100), { priorWeight: 0, startAt: new Date(T0 + 3 * 60 * MIN).toISOString() }), observed: { ratePerSecond: 50, atMs: T0 } });
    expect(originTarget(ahead, T0, 600_000, unbudgeted, 'within')).toMatchObject({ rate: expect.closeTo(60, 9), reason: 'reactive', quantile: null, onForecast: true });
  });

  /** 30 minutes of demand at 30 rps against a forecast of p90 100 (held at 120, median 90; the reactive policy holds 30 ÷ 0.7 ≈ 43). */
  function biasedHigh(p: AllocationPolicy, pools: PoolsView) {
    let d = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f', forecast: forecast('us-east-1', constant(100), { priorWeight: 0 }) }, pools, p);
    const stages: string[] = [];
    const rates: number[] = [];
    for (let m = 0; m < 30; m++) {
      d = run(d.state, observed(30, T0 + m * MIN), pools, p);
      stages.push(d.state.origins['us-east-1'].spend?.stage ?? 'none');
      rates.push(d.state.origins['us-east-1'].heldRate);
    }
    return { d, stages, rates };
  }

  it('a forecast biased high (last week’s level after demand fell) is set aside for the reactive policy, and held on again once its median pays', () => {
    const pools = view([pool('us-east-1', 10_000)]);
    const guarded: AllocationPolicy = { ...unbudgeted, spendCeiling: 0.9, spendWarmUpMs: 0, spendRecentTimeConstantMs: 10 * MIN }; // minutes here, not days and hours
    const off = biasedHigh({ ...guarded, spendCeiling: null }, pools);
    expect(off.rates.every((r) => Math.abs(r - 120) < 1e-9)).toBe(true);

    const on = biasedHigh(guarded, pools);
    // 120 held against the baseline's 43: the median at once. Its median, 90, against 43: set aside
    // once the median's account has measured half its time constant (5 minutes here).
    const setAsideAt = on.stages.indexOf('reactive');
    expect(on.stages.slice(0, setAsideAt)).toEqual(['within', ...new Array(setAsideAt - 1).fill('median')]);
    expect(setAsideAt).toBeGreaterThanOrEqual(6);
    expect(setAsideAt).toBeLessThanOrEqual(7);
    expect(on.stages.slice(setAsideAt).every((s) => s === 'reactive')).toBe(true);
    expect(on.rates[on.rates.length - 1]).toBeCloseTo(30 / policy.targetUtilisation, 9);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(on.rates)).toBeLessThan(0.6 * sum(off.rates));

    // Demand rises past the forecast: its median under the observed floor (360) costs less than the
    // baseline (429). The median is held first, while the account pays back, then the tier's level.
    let d = on.d;
    const stages = new Set<string>();
    for (let m = 30; m < 1030; m++) {
      d = run(d.state, observed(300, T0 + m * MIN), pools, guarded);
      stages.add(d.state.origins['us-east-1'].spend!.stage);
    }
    expect([...stages]).toEqual(['reactive', 'median', 'within']);
    for (let m = 1030; m < 1045; m++) d = run(d.state, observed(80, T0 + m * MIN), pools, guarded);
    expect(d.state.origins['us-east-1']).toMatchObject({ heldQuantile: 'p90', heldRate: expect.closeTo(120, 9), spend: expect.objectContaining({ stage: 'within' }) });
  });

  /** An origin on a fitted forecast (p90 100: 120 held, median 90) whose account, and its median's lately, are at twice the baseline, in the reactive stage. */
  function setAside(observedAtMs: number, extra: Partial<DemandForecast> = {}): DomainAllocationState {
    const f = forecast('us-east-1', constant(100), { priorWeight: 0, ...extra });
    const spend = account({ atMs: T0 + 60 * MIN, held: 2000 * MIN, baseline: 1000 * MIN, medianLately: 2000 * MIN, baselineLately: 1000 * MIN, medianRate: 90, stage: 'reactive', baselineRecent: [{ atMs: T0 + 60 * MIN, rate: 43 }] });
    const o = origin({ forecast: f, forecastEventId: 'f', observed: { ratePerSecond: 30, atMs: observedAtMs }, heldRate: 43, heldReason: 'reactive', spend });
    return { ...newDomainState('app.example.com', 'pro'), version: 1, origins: { 'us-east-1': o } };
  }
  const guardedPolicy: AllocationPolicy = { ...unbudgeted, spendCeiling: 0.9 };

  it('set aside with nothing measured, the median holds rather than nothing', () => {
    const pools = view([pool('us-east-1', 10_000)]);
    const measured = run(setAside(T0 + 60 * MIN), { kind: 'tick', atMs: T0 + 61 * MIN }, pools, guardedPolicy);
    expect(measured.state.origins['us-east-1']).toMatchObject({ heldRate: expect.closeTo(30 / policy.targetUtilisation, 9), spend: expect.objectContaining({ stage: 'reactive' }) });
    const stale = run(setAside(T0 + 60 * MIN - policy.observedTtlMs - MIN), { kind: 'tick', atMs: T0 + 61 * MIN }, pools, guardedPolicy);
    expect(stale.state.origins['us-east-1']).toMatchObject({ heldRate: expect.closeTo(90, 9), heldQuantile: 'p50', spend: expect.objectContaining({ stage: 'median' }) });
  });

  it('the guard judges only a forecast fitted to data and in force: a prior, a forecastOnly or expired one is held as ever, and not accounted', () => {
    const pools = view([pool('us-east-1', 10_000)]);
    const at = { kind: 'tick' as const, atMs: T0 + 61 * MIN };
    const origin = (extra: Partial<DemandForecast> = {}) => run(setAside(T0 + 60 * MIN, extra), at, pools, guardedPolicy).state.origins['us-east-1'];
    expect(origin()).toMatchObject({ heldRate: expect.closeTo(30 / policy.targetUtilisation, 9), spend: expect.objectContaining({ stage: 'reactive', counted: true, medianRate: expect.closeTo(90, 9) }) });
    // Its verdict (the forecast set aside) waits as it was, for the next forecast fitted to data.
    const notJudged = { stage: 'within', setAside: true, counted: false, medianRate: null };
    // A registration prior arriving while the forecast before it was set aside: the capacity asked for is placed.
    expect(origin({ priorWeight: 0.9 })).toMatchObject({ heldReason: 'prior', heldRate: expect.closeTo(120, 9), spend: expect.objectContaining(notJudged) });
    expect(origin({ forecastOnly: true })).toMatchObject({ heldRate: expect.closeTo(30 / policy.targetUtilisation, 9), spend: expect.objectContaining(notJudged) });
    const expired = { steps: 6, requests: Object.fromEntries(QuantileLevels.map((l) => [l, new Array(6).fill(30_000)])) as DemandForecast['requests'] }; // its 30 minutes are past
    expect(origin(expired)).toMatchObject({ spend: expect.objectContaining(notJudged) });
    // One that begins after the reservation window (in two hours: a coarse step, the step under way
    // measured, not forecast): its median stage holds the observed floor (30 × 1.2), not the reactive rule's rate.
    expect(origin({ startAt: new Date(T0 + 3 * 60 * MIN).toISOString() }).spend).toMatchObject({ stage: 'reactive', medianRate: expect.closeTo(36, 9) });
  });


  it('the published schedule follows the median while the guard holds the origin there', () => {
    const pools = view([pool('us-east-1', 10_000)]);
    const median = { ...setAside(T0 + 60 * MIN) };
    const o = median.origins['us-east-1'];
    median.origins = { 'us-east-1': { ...o, spend: { ...o.spend!, held: 1000 * MIN, baseline: 1000 * MIN, medianLately: 500 * MIN, baselineLately: 1000 * MIN, stage: 'median' } } };
    const d = run(median, observed(30, T0 + 61 * MIN), pools, guardedPolicy);
    expect(d.state.origins['us-east-1'].spend!.stage).toBe('median');
    expect(d.plan!.regions[0].schedule[0].reserved.cpuCores).toBeCloseTo(cpuFor(90), 9);
    const within = run(median, observed(30, T0 + 61 * MIN), pools, { ...guardedPolicy, spendCeiling: null });
    expect(within.plan!.regions[0].schedule[0].reserved.cpuCores).toBeCloseTo(cpuFor(120), 9);
  });

  it('a registration prior is not held against the forecasts: trickle traffic before launch leaves the account empty', () => {
    const pools = view([pool('us-east-1', 10_000)]);
    const guarded: AllocationPolicy = { ...unbudgeted, spendCeiling: 0.9, spendWarmUpMs: 60 * MIN };
    let d = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'p', forecast: forecast('us-east-1', constant(100), { priorWeight: 1 }) }, pools, guarded);
    for (let m = 0; m < 2 * 24 * 60; m++) d = run(d.state, observed(m % 7 === 0 ? 1 : 0, T0 + m * MIN), pools, guarded);
    expect(d.state.origins['us-east-1']).toMatchObject({ heldReason: 'prior', heldRate: expect.closeTo(120, 9), spend: expect.objectContaining({ held: 0, baseline: 0, stage: 'within' }) });
  });

  it('time on the reactive policy for its own reasons (telemetry before the first forecast) is not held against the forecasts', () => {
    const pools = view([pool('us-east-1', 10_000)]);
    // A warm-up of 20 minutes: the first 5 on the forecast still hold the reactive level (the scale-in window).
    const guarded: AllocationPolicy = { ...unbudgeted, spendCeiling: 0.9, spendWarmUpMs: 20 * MIN };
    // Three days on the reactive policy: it holds what the baseline holds (100 ÷ 0.7), a ratio of 1.
    let d = run(newDomainState('app.example.com', 'pro'), observed(100, T0), pools, guarded);
    for (let m = 1; m < 3 * 24 * 60; m++) d = run(d.state, observed(100, T0 + m * MIN), pools, guarded);
    expect(d.state.origins['us-east-1'].spend).toMatchObject({ held: 0, baseline: 0, measuredMs: 0 });
    // Then a forecast that costs 0.84 of the baseline (p90 100 × 1.2 = 120 against 143): within the
    // ceiling on its own, over it were the three days counted (their ratio of 1 would outweigh it).
    const at = T0 + 3 * 24 * 60 * MIN;
    d = run(d.state, { kind: 'forecast', atMs: at, eventId: 'f', forecast: forecast('us-east-1', constant(100), { priorWeight: 0, generatedAt: new Date(at).toISOString(), startAt: new Date(at).toISOString() }) }, pools, guarded);
    for (let m = 1; m < 30; m++) d = run(d.state, observed(100, at + m * MIN), pools, guarded);
    expect(d.state.origins['us-east-1']).toMatchObject({ heldQuantile: 'p90', heldRate: expect.closeTo(120, 9), spend: expect.objectContaining({ stage: 'within' }) });
    expect(d.state.origins['us-east-1'].spend!.measuredMs).toBeCloseTo(29 * MIN, -4); // decayed a little
  });

  it('never holds a domain placed on its prior alone against it: with no telemetry nothing is accounted', () => {
    const pools = view([pool('us-east-1', 10_000)]);
    const guarded: AllocationPolicy = { ...unbudgeted, spendWarmUpMs: 0 };
    let d = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f', forecast: forecast('us-east-1', constant(100)) }, pools, guarded);
    for (let m = 1; m <= 120; m++) d = run(d.state, { kind: 'tick', atMs: T0 + m * MIN }, pools, guarded);
    expect(d.state.origins['us-east-1']).toMatchObject({ heldReason: 'prior', heldQuantile: 'p90', heldRate: expect.closeTo(120, 9) });
    expect(d.state.origins['us-east-1'].spend).toMatchObject({ held: 0, baseline: 0, stage: 'within' });
  });

  it('a state persisted before the guard, or by its first form, starts a fresh account; one by its second form keeps it, with nothing lately', () => {
    const pools = view([pool('us-east-1', 10_000)]);
    let d = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f', forecast: forecast('us-east-1', constant(100)) }, pools, unbudgeted);
    const { spend: _dropped, ...withoutAccount } = d.state.origins['us-east-1'];
    const firstForm = { ...withoutAccount, spend: { atMs: T0, held: 5e9, reactive: 1, measuredMs: 1e12, reactiveRecent: [] } as unknown as SpendAccount };
    for (const o of [withoutAccount, firstForm]) {
      const next = run({ ...d.state, origins: { 'us-east-1': o } }, observed(30, T0 + MIN), pools, unbudgeted);
      expect(next.state.origins['us-east-1'].spend).toEqual({
        atMs: T0 + MIN,
        held: 0,
        baseline: 0,
        measuredMs: 0,
        medianLately: 0,
        baselineLately: 0,
        latelyMs: 0,
        medianRate: null,
        baselineRecent: [{ atMs: T0 + MIN, rate: 30 / policy.targetUtilisation }],
        stage: 'within',
        setAside: false,
        atMedian: false,
        counted: false,
      });
    }
    // The second form's account (no sums lately) on a forecast fitted to data: its sums go on, the median's start.
    const secondForm = {
      ...withoutAccount,
      forecast: forecast('us-east-1', constant(100), { priorWeight: 0 }),
      heldRate: 120,
      spend: { atMs: T0, held: 3000 * MIN, baseline: 1000 * MIN, measuredMs: 2 * policy.spendWarmUpMs, baselineRecent: [{ atMs: T0, rate: 43 }], stage: 'median', counted: true } as unknown as SpendAccount,
    };
    const next = run({ ...d.state, origins: { 'us-east-1': secondForm } }, observed(30, T0 + MIN), pools, unbudgeted);
    expect(next.state.origins['us-east-1'].spend).toMatchObject({
      held: expect.closeTo(3000 * MIN * decay(MIN) + 120 * MIN, 3),
      baseline: expect.closeTo(1000 * MIN * decay(MIN) + 43 * MIN, 3),
      medianLately: 0,
      baselineLately: 0,
      latelyMs: 0,
      medianRate: expect.closeTo(90, 9),
      stage: 'median',
    });
    const after = run(next.state, observed(30, T0 + 2 * MIN), pools, unbudgeted);
    expect(after.state.origins['us-east-1'].spend).toMatchObject({ medianLately: expect.closeTo(90 * MIN, 6), latelyMs: MIN });
    // One it had set aside is held at the median until the median's sums have measured half their
    // time constant: its account had been over 1.1, so the median's verdict holds, with its band (0.87 here).
    const setAsideByIt = { ...secondForm, spend: { ...secondForm.spend, held: 870 * MIN, stage: 'reactive' } as SpendAccount };
    const resumed = run({ ...d.state, origins: { 'us-east-1': setAsideByIt } }, observed(30, T0 + MIN), pools, unbudgeted);
    expect(resumed.state.origins['us-east-1'].spend).toMatchObject({ stage: 'median', setAside: false, atMedian: true, held: expect.closeTo(870 * MIN * decay(MIN), 3) });
  });

});

describe('a seasonal naive forecast is re-levelled by what demand has lately been against its median (decision 0039)', () => {
  const pools = view([pool('us-east-1', 100_000)]);
  const DELAY = 600_000;
  /** A fitted forecast of 100 rps at p90 (p50 90 rps), by the model named. */
  const fitted = (name: string, extra: Partial<DemandForecast> = {}) =>
    forecast('us-east-1', constant(100), { model: { name, selected: name, mase: 0.8, baselineMase: 1, selectedAt: new Date(T0).toISOString() }, priorWeight: 0, confidence: 'high', reason: 'scheduled', ...extra } as Partial<DemandForecast>);
  /** The forecast at T0, then `minutes` observations one minute apart at `rps`; the origin after them. */
  function after(f: DemandForecast, rps: number | ((minute: number) => number), minutes: number, policy: AllocationPolicy = unbudgeted): OriginDemand {
    let state = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f1', forecast: f }, pools, policy).state;
    for (let m = 1; m <= minutes; m++) state = run(state, { kind: 'observed', atMs: T0 + m * MIN, region: 'us-east-1', ratePerSecond: typeof rps === 'number' ? rps : rps(m) }, pools, policy).state;
    return state.origins['us-east-1'];
  }
  const targetOf = (o: OriginDemand, minutes: number, policy: AllocationPolicy = unbudgeted) => originTarget(o, T0 + minutes * MIN, DELAY, policy).rate;

  it('demand at half a seasonal naive median holds half the forecast (over the floor); a fitted model is held as published', () => {
    for (const name of SEASONAL_NAIVE_MODELS) {
      const o = after(fitted(name), 45, 30);
      expect(levelCorrection(o, T0 + 30 * MIN, unbudgeted)).toBeCloseTo(0.5, 9);
      expect(targetOf(o, 30)).toBeCloseTo(100 * TierPolicy.pro.headroom * 0.5, 6); // 60 > the floor, 45 × 1.2
    }
    for (const name of ['ets', 'median-4', 'arima']) {
      const o = after(fitted(name), 45, 30);
      expect(levelCorrection(o, T0 + 30 * MIN, unbudgeted)).toBe(1);
      expect(targetOf(o, 30)).toBeCloseTo(100 * TierPolicy.pro.headroom, 6);
    }
    // What demand was against a seasonal naive forecast is not applied to the fitted model replacing it.
    const snaive = after(fitted('snaive-weekly'), 45, 30);
    const replaced = run({ ...newDomainState('app.example.com', 'pro'), origins: { 'us-east-1': snaive } }, { kind: 'forecast', atMs: T0 + 31 * MIN, eventId: 'f2', forecast: fitted('ets', { generatedAt: new Date(T0 + 31 * MIN).toISOString() }) }, pools, unbudgeted).state.origins['us-east-1'];
    expect(replaced.level!.minutes).toBeGreaterThan(5);
    expect(levelCorrection(replaced, T0 + 31 * MIN, unbudgeted)).toBe(1);
  });

  it('demand above the median raises the forecast by the same ratio, within the limit both ways', () => {
    const twice = after(fitted('snaive-weekly'), 180, 30);
    expect(targetOf(twice, 30)).toBeCloseTo(120 * 2, 6); // over the floor's 216
    expect(levelCorrection(after(fitted('snaive-weekly'), 0, 30), T0 + 30 * MIN, unbudgeted)).toBeCloseTo(1 / LEVEL_CORRECTION_LIMIT, 9);
    expect(targetOf(after(fitted('snaive-weekly'), 0, 30), 30)).toBeCloseTo(120 / LEVEL_CORRECTION_LIMIT, 6);
    expect(levelCorrection(after(fitted('snaive-weekly'), 9000, 30), T0 + 30 * MIN, unbudgeted)).toBeCloseTo(LEVEL_CORRECTION_LIMIT, 9);
  });

  it('waits for half a time constant of minutes measured, and forgets with the time constant', () => {
    // 10 minutes: the sum of e^(−k/10) passes 5 at the seventh minute.
    expect(levelCorrection(after(fitted('snaive-daily'), 45, 6), T0 + 6 * MIN, unbudgeted)).toBe(1);
    expect(levelCorrection(after(fitted('snaive-daily'), 45, 7), T0 + 7 * MIN, unbudgeted)).toBeCloseTo(0.5, 9);
    // Half an hour at half the median, then half an hour at the median: the first weighs e^(−3) as much.
    const back = levelCorrection(after(fitted('snaive-daily'), (m) => (m <= 30 ? 45 : 90), 60), T0 + 60 * MIN, unbudgeted);
    expect(back).toBeGreaterThan(0.97);
    expect(back).toBeLessThan(0.99);
  });

  it('counts only minutes a seasonal naive forecast fitted to data covers: not a prior, a forecastOnly one or minutes before it starts', () => {
    expect(after(forecast('us-east-1', constant(100)), 45, 30).level).toBeUndefined(); // a registration prior
    const mostlyPrior = fitted('snaive-daily', { priorWeight: 0.6 });
    expect(after(mostlyPrior, 45, 30).level).toBeUndefined();
    expect(levelCorrection({ ...after(fitted('snaive-daily'), 45, 30), forecast: mostlyPrior }, T0 + 30 * MIN, unbudgeted)).toBe(1);
    expect(after(fitted('snaive-daily', { forecastOnly: true }), 45, 30).level).toBeUndefined();
    const later = fitted('snaive-daily', { startAt: new Date(T0 + 60 * MIN).toISOString() });
    expect(after(later, 45, 30).level).toBeUndefined();
    expect(after(fitted('snaive-daily'), 45, 30).level!.minutes).toBeGreaterThan(5);
  });

  it('the spend guard judges the forecast as corrected: the median it accounts is the re-levelled one', () => {
    const withGuard = { ...DefaultAllocationPolicy };
    expect(after(fitted('snaive-weekly'), 45, 30, withGuard).spend!.medianRate).toBeCloseTo(45 * 1.2, 6); // half the median 90, under the floor
    expect(after(fitted('ets'), 45, 30, withGuard).spend!.medianRate).toBeCloseTo(90, 6);
  });

  it('off (null), nothing is accounted and every forecast is held as published; a state written before it has no account', () => {
    const off = { ...unbudgeted, levelCorrectionTimeConstantMs: null };
    const o = after(fitted('snaive-weekly'), 45, 30, off);
    expect(o.level).toBeUndefined();
    expect(targetOf(o, 30, off)).toBeCloseTo(120, 6);
    const { level: _unused, ...older } = after(fitted('snaive-weekly'), 45, 30);
    expect(levelCorrection(older, T0 + 30 * MIN, unbudgeted)).toBe(1);
    expect(accountLevel(older, T0 + 31 * MIN, T0 + 30 * MIN, 45, unbudgeted)!.minutes).toBe(1);
  });

  it('measures each bucket against the forecast for its own minute, however late it arrives', () => {
    // p90 100 rps for half an hour, 200 after (p50 90, 180); demand exactly the median, each bucket 3 minutes late.
    const step = fitted('snaive-weekly', {});
    const rising = forecast('us-east-1', (ms) => (ms < T0 + 30 * MIN ? 100 : 200), { model: step.model, priorWeight: 0, confidence: 'high', reason: 'scheduled' } as Partial<DemandForecast>);
    let state = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f1', forecast: rising }, pools, unbudgeted).state;
    for (let m = 0; m < 40; m++) {
      const bucketStartMs = T0 + m * MIN;
      state = run(state, { kind: 'observed', atMs: bucketStartMs + 3 * MIN, region: 'us-east-1', ratePerSecond: bucketStartMs < T0 + 30 * MIN ? 90 : 180, bucketStartMs }, pools, unbudgeted).state;
      if (m >= 7) expect(levelCorrection(state.origins['us-east-1'], bucketStartMs + 3 * MIN, unbudgeted)).toBeCloseTo(1, 9);
    }
  });

  it('a later revision of a bucket replaces it, the same bucket again changes nothing, an older one is not counted', () => {
    const base = after(fitted('snaive-weekly'), 90, 10); // at the median: factor 1
    const at = T0 + 11 * MIN;
    const bucket = T0 + 10 * MIN;
    const partial = accountLevel(base, at, bucket, 36, unbudgeted)!; // a first revision with 40 % of the bucket
    const whole = accountLevel({ ...base, level: partial }, at, bucket, 90, unbudgeted)!;
    expect(whole.minutes).toBeCloseTo(accountLevel(base, at, bucket, 90, unbudgeted)!.minutes, 9);
    expect(whole.observed).toBeCloseTo(accountLevel(base, at, bucket, 90, unbudgeted)!.observed, 9);
    expect(whole.observed / whole.median).toBeCloseTo(1, 9);
    const again = accountLevel({ ...base, level: whole }, at, bucket, 90, unbudgeted)!;
    expect(again).toEqual(whole);
    const older = accountLevel({ ...base, level: whole }, at + MIN, bucket - 5 * MIN, 0, unbudgeted)!;
    expect(older.observed / older.median).toBeCloseTo(1, 9);
  });

  it('lapses minutes after telemetry stops: ticks alone let the account go', () => {
    const o = after(fitted('snaive-weekly'), 30, 30); // a third of the median
    expect(levelCorrection(o, T0 + 30 * MIN, unbudgeted)).toBeCloseTo(1 / 3, 9);
    expect(levelCorrection(o, T0 + 37 * MIN, unbudgeted)).toBe(1);
    expect(targetOf(o, 240)).toBeCloseTo(120, 6); // hours later, no floor and no correction: the forecast as published
  });

  it('starts afresh when the seasonal naive model changes, and says nothing where the median is 0', () => {
    const daily = after(fitted('snaive-daily'), 45, 30);
    const weekly = run({ ...newDomainState('app.example.com', 'pro'), origins: { 'us-east-1': daily } }, { kind: 'forecast', atMs: T0 + 30 * MIN, eventId: 'f2', forecast: fitted('snaive-weekly', { generatedAt: new Date(T0 + 30 * MIN).toISOString() }) }, pools, unbudgeted).state.origins['us-east-1'];
    expect(levelCorrection(weekly, T0 + 30 * MIN, unbudgeted)).toBe(1);
    const next = accountLevel(weekly, T0 + 31 * MIN, T0 + 30 * MIN, 45, unbudgeted)!;
    expect(next.model).toBe('snaive-weekly');
    expect(next.minutes).toBe(1);
    const silent = forecast('us-east-1', constant(0), { model: fitted('snaive-daily').model, priorWeight: 0, reason: 'scheduled' } as Partial<DemandForecast>);
    expect(levelCorrection(after(silent, 45, 30), T0 + 30 * MIN, unbudgeted)).toBe(1);
  });

  it('the published schedule is the forecast as published: only what is reserved now is re-levelled', () => {
    let state = run(newDomainState('app.example.com', 'pro'), { kind: 'forecast', atMs: T0, eventId: 'f1', forecast: fitted('snaive-weekly') }, pools, unbudgeted).state;
    let plan = null;
    for (let m = 1; m <= 30; m++) {
      const d = run(state, { kind: 'observed', atMs: T0 + m * MIN, region: 'us-east-1', ratePerSecond: 45 }, pools, unbudgeted);
      state = d.state;
      plan = d.plan ?? plan;
    }
    const region = plan!.regions[0];
    expect(region.requestsPerSecond).toBeLessThan(120 * 0.6); // re-levelled, down by halves to 60
    expect(region.schedule[0].reserved.cpuCores).toBeCloseTo(cpuFor(120), 9);
  });
});
