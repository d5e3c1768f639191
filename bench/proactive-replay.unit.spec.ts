import { capacityPlotSvg, ReplayResult } from './proactive-replay';

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
