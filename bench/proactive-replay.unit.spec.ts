import { DemandForecast, DemandForecastSchema } from '@shardcast/contracts';
import { SEASONAL_NAIVE_MODELS } from '@shardcast/allocation';
import { BaseModels, ForecastWorkerPool } from '@shardcast/forecasting';
import { capacityPlotSvg, latencyMatrix, levelOracleOf, oracleForecast, replayTrace, ReplayOptions, ReplayResult } from './proactive-replay';

/** A 10-minute replay: demand 10 req/s, 1 unit = 10 req/s; shardcast short at minutes 3–4, the HPA at 2 and 6–8. */
function replay(): ReplayResult {
  const demand = Float64Array.from(new Array<number>(10).fill(10));
  const readyWith = (short: number[]) => Float64Array.from(demand, (_, m) => (short.includes(m) ? 0 : 1));
  // The minutes short as the score counts them (from scoreFrom): what the legend reports.
  const outcome = (ready: Float64Array) => ({ ready, underMinutes: ready.filter((u, m) => m >= 1 && u === 0).length, shortRequestMinutes: 0, unitHours: 0, turns: 0 });
  return {
    name: 'plot <test>',
    stepMinutes: 1,
    minutes: 10,
    unitRps: 10,
    selection: { model: 'snaive-daily', mase: null, baselineMase: null, forecastOnly: false },
    trace: { startMs: Date.parse('2026-12-01T00:00:00Z'), demand, unitRps: 10, provisioningDelayMinutes: 1 },
    scoreFrom: 1, // minute 0 is warm-up: a minute short there is not marked
    proactive: { ...outcome(readyWith([0, 3, 4])), reasons: {} },
    reactive70: outcome(readyWith([0, 2, 6, 7, 8])),
    underByKind: { proactive: null, reactive70: { surprise: 0, heldTooLow: 0 } },
    curve: [],
    reactiveUnderAtCost: null,
    reduction: null,
    costRatio: null,
    gate: null,
  } as ReplayResult;
}

describe('capacityPlotSvg', () => {
  it('draws demand and both policies, and marks each policy’s scored minutes short as runs under the axis', () => {
    const svg = capacityPlotSvg(replay(), 940, 380);
    expect(svg.match(/<polyline /g)).toHaveLength(3);
    expect(svg).toContain('shardcast (proactive): 2 minutes short');
    expect(svg).toContain('reactive, 70 % target: 4 minutes short');
    expect(svg).toContain('<title>plot &#60;test&#62;:');
    // x = 40 + m / 9 × 860: one rect per run, from its first minute to the minute after its last.
    const rects = [...svg.matchAll(/<rect x="([\d.]+)" y="(\d+)" width="([\d.]+)"[^>]*fill="(#[0-9a-f]+)"/g)].map((r) => [Number(r[1]), Number(r[3]), r[4]]);
    const at = (m: number) => 40 + (m / 9) * 860;
    const expected = [
      [at(3), at(5) - at(3), '#1f77b4'],
      [at(2), at(3) - at(2), '#d62728'],
      [at(6), at(9) - at(6), '#d62728'],
    ];
    expect(rects).toHaveLength(expected.length);
    rects.forEach((r, i) => {
      expect(r[0]).toBeCloseTo(expected[i][0] as number, 1);
      expect(r[1]).toBeCloseTo(expected[i][1] as number, 1);
      expect(r[2]).toBe(expected[i][2]);
    });
  });
});

describe('oracleForecast (the --oracle diagnostic)', () => {
  const T0 = Date.parse('2026-12-01T00:00:00Z');
  // 4 steps of 5 minutes from T0 + 5 min, unit 10; the trace's grid starts at T0 and ends after 3 of them.
  const f = {
    kind: 'forecast',
    domain: 'simulated.example',
    region: 'sim-1',
    generatedAt: new Date(T0).toISOString(),
    startAt: new Date(T0 + 300_000).toISOString(),
    stepSeconds: 300,
    steps: 4,
    unit: 10,
    requests: { p05: [1, 2, 0, 5], p10: [2, 3, 0, 6], p50: [4, 5, 0, 7], p90: [8, 6, 0, 9], p95: [9, 7, 0, 9], p99: [12, 8, 0, 10] },
    model: { name: 'median-4', selected: 'median-4', mase: 1.4, baselineMase: 1.2, selectedAt: null },
    confidence: 'high',
    forecastOnly: true,
    priorWeight: 0,
    tier: 'pro',
    provisionQuantile: 'p90',
    requestCost: { cpuMs: 5, memoryMbPerConcurrent: 1, latencyMs: 50, bytesOut: 1000 },
    reason: 'scheduled',
  } as DemandForecast;
  // Requests per step; index 0 is before the forecast. 14.00005 is 1,400.005 of the oracle's counts (unit 0.01).
  const grid = { startMs: T0, stepMs: 300_000, values: [999, 80, 14.00005, 30] };

  it('exact: every quantile of a step is its actual demand, in a unit 1,000 times finer and rounded up; steps past the trace keep the forecast', () => {
    const o = oracleForecast(f, grid, 'exact');
    expect(DemandForecastSchema.parse(o)).toBeTruthy();
    expect(o.unit).toBe(0.01);
    for (const level of ['p05', 'p50', 'p99'] as const) expect(o.requests[level]).toEqual([8000, 1401, 3000, f.requests[level][3] * 1000]);
    expect(o.forecastOnly).toBe(false); // the accuracy test judged the model, not the oracle
    expect(f.requests.p50).toEqual([4, 5, 0, 7]); // the input is not changed
  });

  it('recentred: the band is scaled so its median is the actual demand (a zero median takes the actual at every level)', () => {
    const o = oracleForecast(f, grid, 'recentred');
    expect(DemandForecastSchema.parse(o)).toBeTruthy();
    expect(o.requests.p50).toEqual([8000, 1401, 3000, 7000]);
    // Step 1: the band × 1,400.005 ÷ 5,000 (p05 560.002, p99 2,240.008), rounded up.
    expect(o.requests.p05).toEqual([2000, 561, 3000, 5000]);
    expect(o.requests.p99).toEqual([24000, 2241, 3000, 10000]);
  });

  it('level: each step is the centred window’s mean × the band; with a window of one step it is exact', () => {
    const oneStep = levelOracleOf(grid.values, grid.stepMs, 0);
    expect(Array.from(oneStep.level)).toEqual(grid.values);
    expect(Object.values(oneStep.band)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(oracleForecast(f, grid, 'level', oneStep)).toEqual(oracleForecast(f, grid, 'exact'));
    // 15 minutes at 5-minute steps: a step and one either side. Step 0 of the forecast is the grid's index 1.
    const wide = levelOracleOf(grid.values, grid.stepMs, 15);
    const o = oracleForecast(f, grid, 'level', wide);
    expect(DemandForecastSchema.parse(o)).toBeTruthy();
    const meanAt1 = (999 + 80 + 14.00005) / 3;
    expect(o.requests.p50[0]).toBe(Math.ceil((meanAt1 * wide.band.p50) / 0.01));
    expect(o.requests.p99[0]).toBe(Math.ceil((meanAt1 * wide.band.p99) / 0.01));
    expect(o.requests.p99[0]).toBeGreaterThan(o.requests.p05[0]); // a band, not a point
    expect(o.requests.p50[3]).toBe(f.requests.p50[3] * 1000); // past the trace: the forecast's
    expect(() => oracleForecast(f, grid, 'level')).toThrow(/levelOracleOf/);
  });

  it('levelOracleOf: the mean over the minutes centred on each step (a step partly inside counts for its part; fewer at the ends)', () => {
    // 15 minutes at 5-minute steps: the step and one whole step either side.
    expect(Array.from(levelOracleOf([0, 10, 20, 30, 40], 300_000, 15).level)).toEqual([5, 10, 20, 30, 35]);
    // 20 minutes: one whole step and half of the next either side. Step 0: (0 + 10 + 20 ÷ 2) ÷ 2.5; step 2: (0 ÷ 2 + 10 + 20 + 30 + 40 ÷ 2) ÷ 4.
    const twenty = Array.from(levelOracleOf([0, 10, 20, 30, 40], 300_000, 20).level);
    [8, 45 / 3.5, 20, 95 / 3.5, 32].forEach((v, i) => expect(twenty[i]).toBeCloseTo(v, 12));
    // A window no longer than a step is the step itself, whatever its neighbours hold.
    expect(Array.from(levelOracleOf([3, 7, 5], 1_800_000, 30).level)).toEqual([3, 7, 5]);
    expect(levelOracleOf([Infinity, 7, 5], 1_800_000, 30).level[1]).toBe(7);
    expect(() => levelOracleOf([1], 300_000, -5)).toThrow(/window/);
  });

  it('levelOracleOf: the band is the nearest rank at or above each probability of demand ÷ level', () => {
    // A window longer than the trace: every step's level is the mean, 50.5, and its ratios are 1 … 100 ÷ 50.5.
    const values = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1); // 1 … 100, shuffled
    const o = levelOracleOf(values, 300_000, 10_000);
    expect(o.level.every((l) => l === 50.5)).toBe(true);
    expect(o.band).toEqual({ p05: 5 / 50.5, p10: 10 / 50.5, p50: 50 / 50.5, p90: 90 / 50.5, p95: 95 / 50.5, p99: 99 / 50.5 });
    // Seven ratios, where p × 7 is never whole: p90 (6.3) is the 7th, where rounding would give the 6th.
    const seven = levelOracleOf([4, 1, 7, 2, 6, 3, 5], 300_000, 10_000);
    expect(seven.band).toEqual({ p05: 1 / 4, p10: 1 / 4, p50: 4 / 4, p90: 7 / 4, p95: 7 / 4, p99: 7 / 4 });
  });

  it('levelOracleOf: a zero level says 0 at every quantile and is left out of the band', () => {
    // 15 minutes: levels 0, 0, 0, 0, 2, 3; ratios only where the level is above 0: 0 ÷ 2 and 6 ÷ 3.
    const zeros = levelOracleOf([0, 0, 0, 0, 0, 6], 300_000, 15);
    expect(Array.from(zeros.level)).toEqual([0, 0, 0, 0, 2, 3]);
    expect(zeros.band).toEqual({ p05: 0, p10: 0, p50: 0, p90: 2, p95: 2, p99: 2 });
    const o = oracleForecast(f, { ...grid, values: [0, 0, 0, 0, 0, 6] }, 'level', zeros);
    for (const l of ['p05', 'p50', 'p99'] as const) expect(o.requests[l].slice(0, 3)).toEqual([0, 0, 0]);
  });

  it('refuses a forecast whose steps are off the trace’s grid (it would keep the model’s counts unseen)', () => {
    expect(() => oracleForecast(f, { ...grid, startMs: T0 + 60_000 }, 'exact')).toThrow(/not on the trace's grid/);
    expect(() => oracleForecast(f, { ...grid, stepMs: 60_000 }, 'exact')).toThrow(/on a trace of 60 s steps/); // the starts align, the steps do not
  });
});

describe('replayTrace with --oracle', () => {
  // Five days at 30-minute steps with a daily shape; on the last (the simulated day) a burst × 4 from
  // 12:00 to 14:00 that the history never showed: only a forecast that knows the future places it.
  const start = Date.parse('2026-11-01T00:00:00Z');
  const timestamps = Array.from({ length: 5 * 48 }, (_, i) => start + i * 1_800_000);
  const values = timestamps.map((t, i) => {
    const level = 1000 + 300 * Math.sin((2 * Math.PI * (i % 48)) / 48);
    return i >= 4 * 48 + 24 && i < 4 * 48 + 28 ? 4 * level : level;
  });
  const pool = new ForecastWorkerPool({ size: 1 });
  afterAll(() => pool.close());
  const options = (oracle?: ReplayOptions['oracle']): ReplayOptions => ({ provisioningDelayMinutes: 10, replanMinutes: 60, days: 1, latency: latencyMatrix(), pool, gateDays: 0, oracle });

  it('feeds the oracle’s forecasts to the comparison: the burst the model missed is covered', async () => {
    const model = (await replayTrace('burst', { timestamps, values }, options()))!;
    const oracle = (await replayTrace('burst', { timestamps, values }, options('exact')))!;
    expect(model.minutes).toBe(1440);
    expect(model.proactive!.underMinutes).toBeGreaterThan(0); // the model's forecasts never saw the burst
    expect(oracle.proactive!.underMinutes).toBe(0);
    expect(oracle.reactive70.underMinutes).toBe(model.reactive70.underMinutes); // the baseline is the same trace
    // Knowing only each day's mean (and the band around it), the oracle does not know when the burst comes.
    const daily = (await replayTrace('burst', { timestamps, values }, { ...options('level'), oracleWindowMinutes: 24 * 60 }))!;
    expect(daily.proactive!.underMinutes).toBeGreaterThan(0);
    expect(daily.proactive!.unitHours).not.toBe(model.proactive!.unitHours); // the oracle's levels, not the model's forecasts
    const exactLevel = (await replayTrace('burst', { timestamps, values }, { ...options('level'), oracleWindowMinutes: 30 }))!;
    expect(exactLevel.proactive!.underMinutes).toBe(0); // one 30-minute step: the level is the step's demand
  }, 120_000);
});

// The two libraries meet here (as in the forecaster's gate): the allocator re-levels the models the forecaster names seasonal naive.
describe('the seasonal naive models the allocator re-levels (decision 0039)', () => {
  it('are exactly the seasonal naive base models of the forecasting library', () => {
    expect([...SEASONAL_NAIVE_MODELS].sort()).toEqual(BaseModels.filter((m) => m.startsWith('snaive')).sort());
  });
});
