import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DemandForecast, RequestCost, TierPolicy } from '@shardcast/contracts';
import { decide, DefaultAllocationPolicy, LatencyMatrix, newDomainState, RegionPool } from '@shardcast/allocation';
import { parseRegionTable } from '@shardcast/geo';
import { createServiceDataSource, openServiceDatabase } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { DataSource } from 'typeorm';
import { AllocationLedger } from '../src/persistence/allocation-ledger';
import { allocatorMigrations } from '../src/persistence/migrations';

const ROOT = resolve(__dirname, '../../..');
const latency = new LatencyMatrix(JSON.parse(readFileSync(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json'), 'utf8')), parseRegionTable(readFileSync(resolve(ROOT, 'data/regions/awsData.js'), 'utf8')));
const COST: RequestCost = { cpuMs: 10, memoryMbPerConcurrent: 1, bytesOut: 100, latencyMs: 10 };
const T0 = Date.parse('2026-12-01T00:00:00Z');
/** The sizes below are the tier's quantile × headroom: the budget (unit-tested) would cut them. */
const POLICY = { ...DefaultAllocationPolicy, budgetUtilisation: null };

const pool: RegionPool = {
  region: 'us-east-1',
  capacity: { cpuCores: 10.001, memoryGiB: 1000, egressMbps: 100_000 }, // five domains of 2 cores (counts round to 2.00001)
  provisioningDelaySeconds: 600,
  costPerHour: { cpuCore: 0.04, memoryGiB: 0.005, egressMbps: 0.001 },
  endpoints: { ipv4: ['192.0.2.1'], ipv6: [] },
};

/** An enterprise forecast asking for `cores` CPU cores in us-east-1 (p99 × headroom). */
function forecastFor(domain: string, cores: number): DemandForecast {
  const rate = (cores * 1000) / COST.cpuMs / TierPolicy.enterprise.headroom;
  const counts = new Array<number>(12).fill(Math.round(rate * 300));
  return {
    kind: 'forecast', domain, region: 'us-east-1', generatedAt: new Date(T0).toISOString(), startAt: new Date(T0).toISOString(), stepSeconds: 300, steps: 12, unit: 1,
    requests: { p05: counts, p10: counts, p50: counts, p90: counts, p95: counts, p99: counts },
    model: { name: 'prior', selected: 'prior', mase: null, baselineMase: null, selectedAt: null }, confidence: 'low', forecastOnly: false, priorWeight: 1,
    tier: 'enterprise', provisionQuantile: 'p99', requestCost: COST, reason: 'registered',
  };
}

describe('AllocationLedger against the real database', () => {
  const schema = uniqueName('allocator_ledger');
  let instanceA: DataSource;
  let instanceB: DataSource;

  beforeAll(async () => {
    instanceA = await openServiceDatabase(createServiceDataSource({ url: stackEnv().DATABASE_URL, schema, migrations: allocatorMigrations }), schema);
    // A second connection pool: the second allocator instance.
    instanceB = await openServiceDatabase(createServiceDataSource({ url: stackEnv().DATABASE_URL, schema, migrations: allocatorMigrations }), schema);
    expect(await new AllocationLedger(instanceA, schema).upsertPool(pool)).toBe(true);
  });
  afterAll(async () => {
    await instanceA.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await Promise.all([instanceA.destroy(), instanceB.destroy()]);
  });

  it('two instances deciding from the same stale view never commit a pool past its capacity; losers re-decide', async () => {
    const ledgers = [new AllocationLedger(instanceA, schema), new AllocationLedger(instanceB, schema)];
    const view = await ledgers[0].poolsView(); // both instances read it before anyone applies
    const domains = Array.from({ length: 12 }, (_, i) => `d${i}.example.com`);
    const decisions = domains.map((domain) => decide(newDomainState(domain, 'enterprise'), { kind: 'forecast', atMs: T0, eventId: `f-${domain}`, forecast: forecastFor(domain, 2) }, view, latency, COST, POLICY));
    for (const d of decisions) expect(d.ledger[0].to.cpuCores).toBeCloseTo(2, 4); // each, alone, fits
    const outcomes = await Promise.all(decisions.map((d, i) => ledgers[i % 2].apply(newDomainState(domains[i], 'enterprise'), d)));
    expect(outcomes.filter((o) => o.applied)).toHaveLength(5); // 10 cores ÷ 2
    expect(outcomes.filter((o) => !o.applied).every((o) => !o.applied && o.conflict === 'pool-full' && o.region === 'us-east-1')).toBe(true);

    const [committed] = await instanceA.query(`SELECT committed_cpu FROM "${schema}".pools WHERE region = 'us-east-1'`);
    const [reserved] = await instanceA.query(`SELECT sum(cpu) AS cpu FROM "${schema}".reservations`);
    expect(Number(committed.committed_cpu)).toBeCloseTo(10, 3);
    expect(Number(reserved.cpu)).toBeCloseTo(Number(committed.committed_cpu), 9);

    // A loser reloads and decides again: it takes what is left (crumbs), its plan says `limit`.
    const loser = domains[outcomes.findIndex((o) => !o.applied)];
    const again = decide(newDomainState(loser, 'enterprise'), { kind: 'forecast', atMs: T0, eventId: `f-${loser}`, forecast: forecastFor(loser, 2) }, await ledgers[1].poolsView(), latency, COST, POLICY);
    expect(again.plan!.regions[0]).toMatchObject({ region: 'us-east-1', reason: 'limit' });
    expect(again.plan!.regions[0].reserved.cpuCores).toBeLessThan(0.01);
    expect(await ledgers[1].apply(newDomainState(loser, 'enterprise'), again)).toEqual({ applied: true });
    const [full] = await instanceA.query(`SELECT committed_cpu, capacity_cpu FROM "${schema}".pools WHERE region = 'us-east-1'`);
    expect(Number(full.committed_cpu)).toBeLessThanOrEqual(Number(full.capacity_cpu) * (1 + 1e-9));
  });

  it('a decision taken from a state another instance has moved on from is refused, and nothing of it is written', async () => {
    const ledger = new AllocationLedger(instanceA, schema);
    // One of the five the race above let in (which five depends on the race).
    const [{ domain }] = await instanceA.query(`SELECT domain FROM "${schema}".reservations WHERE cpu > 1 ORDER BY domain LIMIT 1`);
    const [{ committed_cpu: committedBefore }] = await instanceA.query(`SELECT committed_cpu FROM "${schema}".pools WHERE region = 'us-east-1'`);
    const before = (await ledger.loadDomain(domain))!;
    const view = await ledger.poolsView();
    const release = decide(before, { kind: 'deregistered', atMs: T0 + 60_000, eventId: 'gone' }, view, latency, COST, POLICY);
    const stale = decide(before, { kind: 'tick', atMs: T0 + 60_000 }, view, latency, COST, POLICY);
    expect(await ledger.apply(before, release)).toEqual({ applied: true });
    const reservedAfterRelease = await ledger.reservations(domain);
    expect(reservedAfterRelease).toEqual({});
    expect(await ledger.apply(before, stale)).toEqual({ applied: false, conflict: 'domain-changed' });
    expect(await ledger.apply({ ...before, version: before.version }, { ...release, state: { ...release.state, version: release.state.version + 1 } })).toEqual({ applied: false, conflict: 'domain-changed' });
    expect(await ledger.reservations(domain)).toEqual({});
    const [committed] = await instanceA.query(`SELECT committed_cpu FROM "${schema}".pools WHERE region = 'us-east-1'`);
    expect(Number(committed.committed_cpu)).toBeCloseTo(Number(committedBefore) - 2, 3); // its 2 cores released once, not twice
  });

  it('a pool cannot shrink below what is committed in it', async () => {
    const ledger = new AllocationLedger(instanceA, schema);
    expect(await ledger.upsertPool({ ...pool, capacity: { ...pool.capacity, cpuCores: 7 } })).toBe(false);
    expect(await ledger.upsertPool({ ...pool, capacity: { ...pool.capacity, cpuCores: 12 } })).toBe(true);
  });
});
