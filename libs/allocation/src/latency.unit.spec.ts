import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseRegionTable } from '@shardcast/geo';
import { greatCircleRttMs, LatencyMatrix } from './latency';

const ROOT = resolve(__dirname, '../../..');
const matrix = JSON.parse(readFileSync(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json'), 'utf8')) as { data: Record<string, Record<string, number>> };
const regions = parseRegionTable(readFileSync(resolve(ROOT, 'data/regions/awsData.js'), 'utf8'));

describe('LatencyMatrix', () => {
  const latency = new LatencyMatrix(matrix, regions);

  it('uses the mean of the two measured directions, the same both ways', () => {
    const ab = matrix.data['us-east-1']['eu-west-1'];
    const ba = matrix.data['eu-west-1']['us-east-1'];
    expect(latency.rttMs('us-east-1', 'eu-west-1')).toBeCloseTo((ab + ba) / 2, 9);
    expect(latency.rttMs('eu-west-1', 'us-east-1')).toBe(latency.rttMs('us-east-1', 'eu-west-1'));
    expect(latency.isMeasured('us-east-1', 'eu-west-1')).toBe(true);
  });

  it('orders spill candidates closest first, within the round-trip limit, never the origin itself', () => {
    const all = Object.keys(matrix.data);
    const order = latency.spillOrder('us-east-1', all);
    expect(order).not.toContain('us-east-1');
    expect(order[0]).toBe('us-east-2');
    for (let i = 1; i < order.length; i++) expect(latency.rttMs('us-east-1', order[i])!).toBeGreaterThanOrEqual(latency.rttMs('us-east-1', order[i - 1])!);
    const near = latency.spillOrder('us-east-1', all, 40);
    expect(near.length).toBeGreaterThan(0);
    expect(near.length).toBeLessThan(order.length);
    expect(near.every((r) => latency.rttMs('us-east-1', r)! <= 40)).toBe(true);
  });

  it('falls back to the great-circle estimate for a region the matrix lacks, and knows nothing of a region with no coordinates', () => {
    const withoutMumbai = { data: Object.fromEntries(Object.entries(matrix.data).filter(([k]) => k !== 'ap-south-1').map(([k, row]) => [k, Object.fromEntries(Object.entries(row).filter(([d]) => d !== 'ap-south-1'))])) };
    const partial = new LatencyMatrix(withoutMumbai, regions);
    const mumbai = regions.find((r) => r.id === 'ap-south-1')!;
    const virginia = regions.find((r) => r.id === 'us-east-1')!;
    expect(partial.isMeasured('us-east-1', 'ap-south-1')).toBe(false);
    expect(partial.rttMs('us-east-1', 'ap-south-1')).toBeCloseTo(greatCircleRttMs(virginia, mumbai), 9);
    expect(partial.rttMs('us-east-1', 'xx-nowhere-1')).toBeNull();
    expect(partial.spillOrder('us-east-1', ['xx-nowhere-1', 'ap-south-1'])).toEqual(['ap-south-1']);
  });

  it('estimates measured round trips from distance within 20 % at the median (the fallback is usable)', () => {
    const byId = new Map(regions.map((r) => [r.id, r]));
    const errors: number[] = [];
    for (const [a, row] of Object.entries(matrix.data)) {
      for (const [b, ms] of Object.entries(row)) {
        if (a >= b || !byId.has(a) || !byId.has(b)) continue;
        errors.push(Math.abs(greatCircleRttMs(byId.get(a)!, byId.get(b)!) - ms) / ms);
      }
    }
    errors.sort((x, y) => x - y);
    expect(errors.length).toBeGreaterThan(300);
    expect(errors[Math.floor(errors.length / 2)]).toBeLessThan(0.2);
  });
});
