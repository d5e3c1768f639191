import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RegionPoolsFileSchema } from './pools';

const seed = JSON.parse(readFileSync(resolve(__dirname, '../../../deploy/pools/default.json'), 'utf8'));

describe('the pools seed file', () => {
  it('deploy/pools/default.json is valid: one pool per AWS region of data/regions', () => {
    const parsed = RegionPoolsFileSchema.parse(seed);
    const regions = [...readFileSync(resolve(__dirname, '../../../data/regions/awsData.js'), 'utf8').matchAll(/^([a-z]{2}(?:-[a-z]+)+-\d);/gm)].map((m) => m[1]);
    expect(parsed.pools.map((p) => p.region).sort()).toEqual([...new Set(regions)].sort());
  });

  it('refuses two pools for one region, an unknown field, and a CNAME beside addresses', () => {
    const [a] = seed.pools;
    expect(RegionPoolsFileSchema.safeParse({ pools: [a, a] }).success).toBe(false);
    expect(RegionPoolsFileSchema.safeParse({ pools: [{ ...a, capacityCpu: 4 }] }).success).toBe(false);
    expect(RegionPoolsFileSchema.safeParse({ pools: [{ ...a, endpoints: { ipv4: ['192.0.2.1'], cname: 'edge.example.net' } }] }).success).toBe(false);
    expect(RegionPoolsFileSchema.safeParse({ pools: [] }).success).toBe(false);
  });
});
