import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

jest.setTimeout(600_000);

/**
 * `npm run simulate` as a user runs it, on a real trace for one simulated day: the forecaster's
 * library and the allocator's decide against the reactive baseline, a plot and a summary.
 */
it('simulate replays a real trace through both policies and writes the comparison and a plot', async () => {
  const out = mkdtempSync(join(tmpdir(), 'shardcast-simulate-'));
  try {
    const trace = resolve(__dirname, '../data/series/nyc_taxi.csv');
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), resolve(__dirname, '../bench/simulate.ts'), '--trace', trace, '--days', '1', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    const [code] = (await once(child, 'exit')) as [number];
    if (code !== 0) console.log(text.slice(-4000));
    expect(code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'nyc_taxi.json'), 'utf8'));
    expect(summary).toMatchObject({ trace: 'nyc_taxi', days: 1 });
    // A day at 30-minute steps, scored after the first re-plan: every minute is counted by reason.
    const byReason = Object.values(summary.proactive.minutes_by_reason as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(byReason).toBe(1440);
    expect(summary.proactive.under_minutes).toBeGreaterThanOrEqual(0);
    expect(summary.proactive.under_minutes).toBeLessThanOrEqual(1440);
    // Every minute short is of one kind.
    for (const policy of [summary.proactive, summary.reactive_70]) expect(policy.under_minutes_by_kind.surprise + policy.under_minutes_by_kind.heldTooLow).toBe(policy.under_minutes);
    // The reactive curve: a lower target never costs less, and is never short more often.
    const curve = [...summary.reactive_curve].sort((a: { target: number }, b: { target: number }) => a.target - b.target);
    for (let i = 1; i < curve.length; i++) expect(curve[i].unitHours).toBeLessThanOrEqual(curve[i - 1].unitHours + 1e-9);
    expect(summary.cost_ratio).toBeCloseTo(summary.proactive.unit_hours / summary.reactive_70.unit_hours, 2);
    if (summary.reactive_under_at_equal_cost !== null) {
      const expected = summary.reactive_under_at_equal_cost === 0 && summary.proactive.under_minutes === 0 ? 0 : 1 - summary.proactive.under_minutes / Math.max(1, summary.reactive_under_at_equal_cost);
      expect(summary.reduction).toBeCloseTo(expected, 9);
    }
    // The references: covering every minute costs something, and no policy beats the clairvoyant at
    // no more than the reactive policy at 70 %'s cost.
    expect(summary.exact_cover_unit_hours).toBeGreaterThan(0);
    expect(summary.clairvoyant_reduction).toBeLessThanOrEqual(1);
    if (summary.reduction !== null && summary.cost_ratio <= 1) expect(summary.clairvoyant_reduction).toBeGreaterThanOrEqual(summary.reduction - 1e-9);
    const svg = readFileSync(summary.plot, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(3);
    expect(existsSync(join(out, 'nyc_taxi.svg'))).toBe(true);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
