/**
 * Geo answers against static ones on the two authoritative servers dns-publisher writes to
 * (PowerDNS, Knot), and the time of a first full publish of 10,000 domains, in one run.
 *
 *   npm run bench:dns [-- --domains 10000] [--subnets 64] [--seconds 1] [--concurrency 12] [--keep]
 *
 * Protocol: `--domains` synthetic layouts (1–5 shards each over real AWS regions of the measured
 * latency matrix, endpoints in the documentation ranges 192.0.2.0/24, 198.51.100.0/24,
 * 203.0.113.0/24, names under `shardcast-bench-dns.example`, one zone per domain as in
 * production). Per provider, timed: domainRecords over the full client subnet map
 * (data/client-subnets/ipv4.csv), the provider's desired(), readMany() of every zone, planChanges,
 * then applyMany() and its wait until the servers serve the new serials — through the providers'
 * real code (apps/dns-publisher's entry point). The slower provider's time is the one reported.
 * Then a dig per provider checks that geo answers follow the client subnet. Then `--subnets`
 * client subnets (round robin over the map's regions, each the first /24 of one of its subnets)
 * each get one dnsperf run of `--seconds` per provider and record kind, interleaved (static, geo,
 * per subnet, per provider) so load drift from other users of the machine hits both alike. Every
 * query carries that subnet as EDNS Client Subnet (dnsperf `-E 8:<hex>`: option 8, RFC 7871).
 * The static queries ask a shard's own A record (`<region>.<domain>`), the geo queries the
 * domain's apex (the geo record), over the same bounded list of domains. QPS = Σ completed queries
 * / Σ run time over the subnets' runs. The bench's zones are deleted at the end (the servers are
 * shared), and any left by an earlier run at the start.
 * Ends with one JSON line: {"bench":"dns","providers":{"powerdns":{"static_qps","geo_qps","ratio"},"knot":{…}},"ratio","ratio_best","apply_10k_domains_s"}.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ShardAssigned } from '@shardcast/contracts';
import { DEFAULT_DNS_POLICY, domainRecords, planChanges, RecordSet } from '@shardcast/dns';
import { stackEnv } from '@shardcast/test-stack';
import { DnsProvider, KnotProvider, PowerDnsProvider, ZonePlan } from '../apps/dns-publisher/src';
import { benchAuthority as authority, benchDnsInputs, benchLayouts, BENCH_DNS_SUFFIX as SUFFIX, dig, dnsperf as dnsperfRun, ecsHex, pickSubnets, PerfRun, queryLines } from './dns-bench-tools';

const { values: args } = parseArgs({
  options: {
    domains: { type: 'string', default: '10000' },
    subnets: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '12' },
    'query-domains': { type: 'string', default: '10000' },
    'pdns-geo': { type: 'string', default: 'client-map' },
    keep: { type: 'boolean', default: false },
  },
});
const DOMAINS = Number(args.domains);
const SUBNETS = Number(args.subnets);
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const PDNS_GEO = args['pdns-geo'] === 'view' ? 'view' : 'client-map';
const QUERY_DOMAINS = Math.min(DOMAINS, Number(args['query-domains']));

const env = stackEnv();
const { subnets, latency, clientRegions, shardRegions } = benchDnsInputs();
const EMPTY: RecordSet = { rrsets: [], geo: [] };
const layouts = (n: number): ShardAssigned[] => benchLayouts(n, shardRegions);

/** Plans every domain against what the provider holds and applies the lot: the first full publish. */
async function publishAll(provider: DnsProvider, all: readonly ShardAssigned[]): Promise<number> {
  const start = process.hrtime.bigint();
  const desired = all.map((layout) => provider.desired(domainRecords(layout, new Map(), clientRegions, latency, DEFAULT_DNS_POLICY)));
  const current = await provider.readMany(all.map((layout) => layout.domain));
  const at = authority();
  const batch: ZonePlan[] = all.map((layout, i) => ({ zone: layout.domain, authority: at, plan: planChanges(desired[i], current[i] ?? EMPTY, new Set(), 'sync') }));
  await provider.applyMany(batch);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Zones this bench left on the servers (an interrupted earlier run). */
async function leftovers(provider: 'powerdns' | 'knot'): Promise<string[]> {
  if (provider === 'knot') {
    return readdirSync(join(env.KNOT_DIR, 'zones.d'))
      .filter((f) => f.endsWith(`.${SUFFIX}.conf`))
      .map((f) => f.slice(0, -'.conf'.length));
  }
  const res = await fetch(`${env.PDNS_API_URL}/api/v1/servers/localhost/zones`, { headers: { 'X-API-Key': env.PDNS_API_KEY } });
  const zones = (await res.json()) as Array<{ name: string }>;
  return zones.map((z) => z.name.replace(/\.$/, '')).filter((z) => z.endsWith(`.${SUFFIX}`));
}

const dnsperf = (port: string, file: string, ecs: string): Promise<PerfRun> => dnsperfRun(port, file, ecs, SECONDS);

async function main(): Promise<void> {
  const pdns = new PowerDnsProvider({ apiUrl: env.PDNS_API_URL, apiKey: env.PDNS_API_KEY, concurrency: CONCURRENCY, timeoutMs: 60_000, geo: PDNS_GEO }, subnets);
  const knot = new KnotProvider({ dir: env.KNOT_DIR, controlSocket: env.KNOT_CONTROL_SOCKET, loadTimeoutMs: 600_000 }, subnets);
  const providers = [
    { name: 'powerdns' as const, provider: pdns, port: env.PDNS_DNS_PORT },
    { name: 'knot' as const, provider: knot, port: env.KNOT_DNS_PORT },
  ];
  for (const p of providers) {
    const old = await leftovers(p.name);
    if (old.length > 0) {
      console.log(`${p.name}: deleting ${old.length} zones an earlier run left`);
      await p.provider.deleteZones(old);
    }
  }

  const all = layouts(DOMAINS);
  const shardCount = all.reduce((n, l) => n + l.shards.length, 0);
  console.log(`PowerDNS geo records: ${PDNS_GEO === 'view' ? 'view() over the whole map in each record' : 'one answer per map region over the zone\'s client map record'}`);
  console.log(`${DOMAINS} domains (${shardCount} shards over ${shardRegions.length} regions), client subnet map: ${subnets.length} subnets over ${clientRegions.length} regions; load average ${loadavg()[0].toFixed(2)}`);
  const work = mkdtempSync(join(tmpdir(), 'bench-dns-'));
  // Printed after the cleanup: the JSON line is the run's last.
  let summary = '';
  try {
    const applySeconds: Record<string, number> = {};
    for (const p of providers) {
      applySeconds[p.name] = await publishAll(p.provider, all);
      console.log(`${p.name}: planned and applied ${DOMAINS} domains in ${applySeconds[p.name].toFixed(1)} s`);
    }

    // The geo records answer by client subnet on both servers (else the QPS below would measure something else).
    const probes = pickSubnets(subnets, 4);
    for (const p of providers) {
      for (const layout of all.slice(0, 3)) {
        const records = domainRecords(layout, new Map(), clientRegions, latency, DEFAULT_DNS_POLICY);
        for (const s of probes) {
          const want = records.decisions.find((d) => d.clientRegion === s.region)!.answer;
          const expected = want.kind === 'addresses' ? [...want.ipv4].sort() : [];
          const got = await dig(p.port, layout.domain, s.cidr);
          // PowerDNS' view() answers one address of the matched view at random; its client-map records and Knot all of them.
          const oneOf = p.name === 'powerdns' && PDNS_GEO === 'view';
          if (got.length === 0 || got.some((a) => !expected.includes(a)) || (!oneOf && got.length !== expected.length)) throw new Error(`${p.name}: ${layout.domain} from ${s.cidr} (${s.region}) answered ${got.join(' ')}, want ${expected.join(' ')}`);
        }
      }
    }
    console.log(`geo answers follow the client subnet on both servers (dig +subnet, 3 domains × ${probes.length} subnets)`);

    // Bounded query files: the same domains for both kinds, in a shuffled order.
    const lines = queryLines(all, QUERY_DOMAINS);
    const staticFile = join(work, 'static.txt');
    const geoFile = join(work, 'geo.txt');
    writeFileSync(staticFile, lines.static);
    writeFileSync(geoFile, lines.geo);

    const clients = pickSubnets(subnets, SUBNETS);
    const totals = new Map(providers.map((p) => [p.name, { static: { completed: 0, seconds: 0 }, geo: { completed: 0, seconds: 0 } }]));
    console.log(`dnsperf: ${clients.length} client subnets (${new Set(clients.map((c) => c.region)).size} regions), ${SECONDS} s per run, ${QUERY_DOMAINS} names per query file`);
    for (const client of clients) {
      const ecs = ecsHex(client.cidr);
      for (const p of providers) {
        const t = totals.get(p.name)!;
        for (const [kind, file] of [['static', staticFile], ['geo', geoFile]] as const) {
          const r = await dnsperf(p.port, file, ecs);
          t[kind].completed += r.completed;
          t[kind].seconds += r.seconds;
        }
      }
    }

    const result: Record<string, { static_qps: number; geo_qps: number; ratio: number }> = {};
    for (const p of providers) {
      const t = totals.get(p.name)!;
      const staticQps = t.static.completed / t.static.seconds;
      const geoQps = t.geo.completed / t.geo.seconds;
      result[p.name] = { static_qps: Math.round(staticQps), geo_qps: Math.round(geoQps), ratio: Number((geoQps / staticQps).toFixed(3)) };
      console.log(`${p.name.padEnd(9)} static ${Math.round(staticQps).toString().padStart(7)} qps   geo ${Math.round(geoQps).toString().padStart(7)} qps   geo/static ${(geoQps / staticQps).toFixed(3)}`);
    }
    const applyWorst = Math.max(...Object.values(applySeconds));
    console.log(`first full publish of ${DOMAINS} domains: ${Object.entries(applySeconds).map(([n, s]) => `${n} ${s.toFixed(1)} s`).join(', ')} (reported: the slower)`);
    summary = JSON.stringify({
        bench: 'dns',
        providers: result,
        ratio: result.powerdns.ratio,
        ratio_best: Math.max(...Object.values(result).map((r) => r.ratio)),
      apply_10k_domains_s: Number(applyWorst.toFixed(1)),
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (!args.keep) {
      for (const p of providers) {
        const start = Date.now();
        // A failed cleanup is reported, never masks the run's own error.
        await p.provider.deleteZones(all.map((l) => l.domain)).catch((err: unknown) => console.error(`${p.name}: cleanup failed (the next run deletes what is left):`, err));
        console.log(`${p.name}: deleted the bench's zones in ${((Date.now() - start) / 1000).toFixed(1)} s`);
      }
    }
  }
  console.log(summary);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
