/**
 * PowerDNS' GeoIP backend as the geo mechanism (issue #18): do its geo answers reach 0.5× the QPS
 * of static ones, where the PowerDNS provider's LUA records stay at 0.31–0.43?
 *
 *   npx tsx bench/dns-pdns-geoip.ts [-- --domains 10000] [--subnets 64] [--seconds 1] [--port 5302] [--api-port 8182] [--cache-ttl 20] [--keep]
 *
 * Runs its own pdns_server (never the stack's on :5300/:8081): config, zones file, client map
 * database and sqlite store in $SHARDCAST_STACK_DIR/pdns-geoip (default .stack/pdns-geoip),
 * `launch=geoip,gsqlite3` as a provider would have it (the API's sqlite zones beside the YAML
 * zones). The client's region comes from our map (data/client-subnets/ipv4.csv) compiled to a
 * MaxMind DB (bench/mmdb-writer.ts); zones as bench/pdns-geoip-zones.ts renders them from
 * libs/dns's domainRecords over the bench:dns layouts (bench/dns-bench-tools.ts).
 * Measures: the server's start with the zones file (until it answers), `pdns_control rediscover`
 * of the file, whether that alone shows a changed zone (or the packet cache hides it), the
 * combination with a sqlite zone and the API, dig checks of answers and ECS scope, whether the
 * packet cache serves geo answers and per which key, then bench:dns's dnsperf method: `--subnets`
 * client subnets, one run of `--seconds` per subnet and kind, static (a shard's A) and geo (the
 * apex) interleaved, every query with the subnet as ECS. Stops its server at the end.
 * Ends with one JSON line: {"bench":"dns-pdns-geoip","static_qps","geo_qps","ratio","start_s","rediscover_s",…}.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { DEFAULT_DNS_POLICY, DomainRecords, domainRecords } from '@shardcast/dns';
import { benchAuthority, benchDnsInputs, benchLayouts, BENCH_DNS_SUFFIX, dig, dnsperf, ecsHex, pickSubnets, queryLines } from './dns-bench-tools';
import { clientMapMmdb, GeoipDomain, renderGeoipDomain, renderGeoipZonesFile } from './pdns-geoip-zones';

const { values: args } = parseArgs({
  options: {
    domains: { type: 'string', default: '10000' },
    subnets: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '1' },
    port: { type: 'string', default: '5302' },
    'api-port': { type: 'string', default: '8182' },
    // 0 turns the packet cache off: static answers then cost a backend lookup too, as geo ones always do.
    'cache-ttl': { type: 'string', default: '20' },
    keep: { type: 'boolean', default: false },
  },
});
const DOMAINS = Number(args.domains);
const SUBNETS = Number(args.subnets);
const SECONDS = Number(args.seconds);
const PORT = args.port!;
const API_PORT = args['api-port']!;
const API_KEY = 'shardcast-bench-geoip-key';
const CACHE_TTL = Number(args['cache-ttl']);
const ROOT = resolve(__dirname, '..');
const DIR = join(process.env.SHARDCAST_STACK_DIR ?? join(ROOT, '.stack'), 'pdns-geoip');
const run = promisify(execFile);
const SQLITE_ZONE = 'sqlite-zone.shardcast-bench-dns.example';

const { subnets, latency, clientRegions, shardRegions } = benchDnsInputs();
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

function writeAtomically(path: string, data: string | Buffer): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

function pdnsConf(): string {
  return `# Written by bench/dns-pdns-geoip.ts: a PowerDNS beside the stack's, for one measurement.
launch=geoip,gsqlite3
geoip-zones-file=${DIR}/zones.yaml
geoip-database-files=mmdb:${DIR}/client-regions.mmdb
gsqlite3-database=${DIR}/pdns.sqlite3
gsqlite3-pragma-synchronous=0
local-address=127.0.0.1:${PORT}
socket-dir=${DIR}/run
daemon=no
guardian=no
disable-syslog=yes
log-timestamp=yes
security-poll-suffix=
api=yes
api-key=${API_KEY}
webserver=yes
webserver-address=127.0.0.1
webserver-port=${API_PORT}
webserver-allow-from=127.0.0.1,::1
edns-subnet-processing=yes
# The packet cache's TTL (PowerDNS' default: 20 s).
cache-ttl=${CACHE_TTL}
`;
}

async function pdnsControl(...command: string[]): Promise<string> {
  const { stdout } = await run('pdns_control', [`--config-dir=${DIR}`, ...command], { timeout: 600_000 });
  return stdout.trim();
}

/** The server's counters (`show *`: name=value,…). */
async function counters(): Promise<Map<string, number>> {
  const out = await pdnsControl('show', '*');
  return new Map(
    out
      .split(',')
      .filter((kv) => kv.includes('='))
      .map((kv) => {
        const [k, v] = kv.split('=');
        return [k.trim(), Number(v)];
      }),
  );
}

async function digFull(name: string, type: string, subnet: string): Promise<{ answers: string[]; scope: string | null }> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', PORT, name, type, '+tries=1', '+time=2', '+noall', '+answer', '+comments', `+subnet=${subnet}`]);
  const answers = stdout
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';'))
    .map((l) => l.split(/\s+/).slice(4).join(' '))
    .sort();
  const scope = /CLIENT-SUBNET: (\S+)/.exec(stdout)?.[1] ?? null;
  return { answers, scope };
}

async function waitForAnswer(name: string, timeoutMs: number, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`pdns_server exited (${server.exitCode}); see ${DIR}/pdns.log`);
    try {
      const { stdout } = await run('dig', ['@127.0.0.1', '-p', PORT, name, 'SOA', '+short', '+tries=1', '+time=1']);
      if (stdout.trim() !== '') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`pdns_server did not answer ${name} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${API_PORT}/api/v1/servers/localhost${path}`, { method, headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

/** A zone with only its SOA and NS, new in a rewritten zones file: it answers once the server has taken the file. */
function markerZone(n: number, authority: ReturnType<typeof benchAuthority>): GeoipDomain {
  const domain = `rediscover-${n}.${BENCH_DNS_SUFFIX}`;
  return { domain, ttl: 30, records: { [domain]: [{ soa: `${authority.nameservers[0]} ${authority.hostmaster} ${authority.serial} 3600 600 604800 30` }, ...authority.nameservers.map((ns) => ({ ns }))] } };
}

/**
 * `pdns_control rediscover`, timed until the server answers `marker` (a zone new in the file).
 * rediscover, not reload: both make the geoip backend re-read its file, but only rediscover
 * also refreshes the server's zone cache, without which a new zone stays REFUSED (measured).
 * pdns_control stops waiting after 5 s; the server goes on. The marker is purged from the
 * packet cache before each probe (a REFUSED answer is cached too). Meanwhile geo queries (never
 * cached) show how long answers stall: the backend parses the file under its write lock.
 */
async function timedRediscover(marker: string, geoName: string, subnet: string): Promise<{ seconds: number; longestGeoQueryS: number }> {
  const start = process.hrtime.bigint();
  const control = pdnsControl('rediscover').catch((err: unknown) => String(err));
  let longest = 0;
  for (;;) {
    const q = process.hrtime.bigint();
    await run('dig', ['@127.0.0.1', '-p', PORT, geoName, 'A', '+short', '+tries=1', '+time=60', `+subnet=${subnet}`]).catch(() => null);
    longest = Math.max(longest, seconds(q));
    await pdnsControl('purge', `${marker}$`).catch(() => null);
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', PORT, marker, 'SOA', '+short', '+tries=1', '+time=60']).catch(() => ({ stdout: '' }));
    if (stdout.trim() !== '') break;
    if (seconds(start) > 600) throw new Error(`no answer for ${marker} 600 s after the rediscover`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const total = seconds(start);
  await control;
  return { seconds: total, longestGeoQueryS: longest };
}

async function main(): Promise<void> {
  for (const tool of ['pdns_server', 'pdns_control', 'dnsperf', 'dig', 'sqlite3']) await run('sh', ['-c', `command -v ${tool}`]).catch(() => Promise.reject(new Error(`${tool} is missing`)));
  if (!(await run('sh', ['-c', 'ls /usr/lib/*/pdns/libgeoipbackend.so']).catch(() => null))) throw new Error('pdns-backend-geoip is not installed (apt-get install -y pdns-backend-geoip)');
  const versions = (await run('sh', ['-c', "pdns_server --version 2>&1 | head -n 2; dnsperf -h 2>&1 | grep -m1 -i version; dpkg-query -W pdns-backend-geoip libmaxminddb0 libyaml-cpp0.7 2>/dev/null"]).catch(() => ({ stdout: '' }))).stdout.trim();
  console.log(`load average ${load()} at the start; ${versions.split('\n').join('; ')}`);
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(join(DIR, 'run'), { recursive: true });

  // The client map as a MaxMind DB, checked subnet by subnet with libmaxminddb's own tool when present.
  const mmdb = clientMapMmdb(subnets);
  writeAtomically(join(DIR, 'client-regions.mmdb'), mmdb.bytes);
  console.log(`client map: ${subnets.length} subnets, ${mmdb.regions.length} regions → ${mmdb.bytes.length} bytes of MaxMind DB`);
  if (await run('sh', ['-c', 'command -v mmdblookup']).catch(() => null)) {
    for (const s of subnets) {
      const { stdout } = await run('mmdblookup', ['-f', join(DIR, 'client-regions.mmdb'), '-i', s.cidr.split('/')[0], '-v', 'subdivisions', '0', 'iso_code']);
      const region = /"([^"]+)" <utf8_string>/.exec(stdout)?.[1];
      const prefix = /Record prefix length: (\d+)/.exec(stdout)?.[1];
      if (region !== s.region || `/${prefix}` !== s.cidr.slice(s.cidr.indexOf('/'))) throw new Error(`mmdb: ${s.cidr} reads ${region} /${prefix}, want ${s.region}`);
    }
    console.log(`mmdblookup: every map subnet reads its region, with the subnet's own prefix length`);
  }

  // Zones: the bench:dns layouts through libs/dns, as YAML zones.
  const all = benchLayouts(DOMAINS, shardRegions);
  const authority = benchAuthority();
  const renderStart = process.hrtime.bigint();
  const records: DomainRecords[] = all.map((layout) => domainRecords(layout, new Map(), clientRegions, latency, DEFAULT_DNS_POLICY));
  const zones: GeoipDomain[] = records.map((r) => renderGeoipDomain(r, authority));
  const zonesFile = renderGeoipZonesFile(zones);
  writeAtomically(join(DIR, 'zones.yaml'), zonesFile);
  const renderS = seconds(renderStart);
  const names = zones.reduce((n, z) => n + Object.keys(z.records).length, 0);
  console.log(`${DOMAINS} zones (${all.reduce((n, l) => n + l.shards.length, 0)} shards), ${names} names, ${(zonesFile.length / 1e6).toFixed(1)} MB zones file, rendered in ${renderS.toFixed(1)} s`);

  const sqliteSchema = readFileSync('/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql', 'utf8');
  await new Promise<void>((ok, fail) => {
    const p = execFile('sqlite3', [join(DIR, 'pdns.sqlite3')], (err) => (err ? fail(err) : ok()));
    p.stdin!.end(sqliteSchema);
  });
  writeFileSync(join(DIR, 'pdns.conf'), pdnsConf());

  const log = openSync(join(DIR, 'pdns.log'), 'a');
  const startAt = process.hrtime.bigint();
  const server = spawn('pdns_server', [`--config-dir=${DIR}`], { stdio: ['ignore', log, log] });
  const figures: Record<string, unknown> = {};
  let summary = '';
  try {
    await waitForAnswer(all[all.length - 1].domain, 600_000, server);
    const startS = seconds(startAt);
    figures.start_s = Number(startS.toFixed(2));
    console.log(`pdns_server (pid ${server.pid}) answers all ${DOMAINS} zones ${startS.toFixed(2)} s after its start; RSS ${(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1]) / 1024).toFixed(0)} MB`);

    // Rediscover with the same zones (and a marker zone), then with a changed one: does it alone show the change?
    const probe = all[0].domain;
    const probeShard = all[0].shards[0].hostname;
    const probeSubnet = pickSubnets(subnets, 1)[0].cidr;
    writeAtomically(join(DIR, 'zones.yaml'), renderGeoipZonesFile([...zones, markerZone(1, authority)]));
    const rediscover1 = await timedRediscover(markerZone(1, authority).domain, all[1].domain, probeSubnet);
    figures.rediscover_s = Number(rediscover1.seconds.toFixed(2));
    figures.rediscover_longest_geo_query_s = Number(rediscover1.longestGeoQueryS.toFixed(2));
    console.log(`pdns_control rediscover (the same ${DOMAINS} zones + 1): answers the new zone after ${rediscover1.seconds.toFixed(2)} s; the longest geo query meanwhile took ${rediscover1.longestGeoQueryS.toFixed(2)} s`);
    const before = await digFull(probeShard, 'A', probeSubnet);
    const changed = zones.map((z, i) => (i === 0 ? { ...z, records: { ...z.records, [probeShard]: [{ a: '192.0.2.254' }] } } : z));
    writeAtomically(join(DIR, 'zones.yaml'), renderGeoipZonesFile([...changed, markerZone(2, authority)]));
    const rediscover2 = await timedRediscover(markerZone(2, authority).domain, all[1].domain, probeSubnet);
    const afterRediscover = await digFull(probeShard, 'A', probeSubnet);
    await pdnsControl('purge', `${probe}$`);
    const afterPurge = await digFull(probeShard, 'A', probeSubnet);
    console.log(`changed ${probeShard} to 192.0.2.254: before ${before.answers.join(' ')}; after the rediscover (${rediscover2.seconds.toFixed(2)} s) ${afterRediscover.answers.join(' ')}; after 'purge ${probe}$' ${afterPurge.answers.join(' ')}`);
    figures.rediscover_shows_change_before_purge = afterRediscover.answers.includes('192.0.2.254');
    if (!afterPurge.answers.includes('192.0.2.254')) throw new Error('a rediscover and a purge did not show the changed record');
    writeAtomically(join(DIR, 'zones.yaml'), renderGeoipZonesFile([...zones, markerZone(3, authority)]));
    await timedRediscover(markerZone(3, authority).domain, all[1].domain, probeSubnet);
    await pdnsControl('purge', `${probe}$`);

    // Beside the YAML zones: a zone in the sqlite backend, created through the API, and what the API says of YAML zones.
    const created = await api('POST', '/zones', { name: `${SQLITE_ZONE}.`, kind: 'Native', nameservers: ['ns1.shardcast.example.net.'], rrsets: [{ name: `www.${SQLITE_ZONE}.`, type: 'A', ttl: 30, changetype: 'REPLACE', records: [{ content: '192.0.2.77', disabled: false }] }] });
    const sqliteAnswer = await dig(PORT, `www.${SQLITE_ZONE}`, probeSubnet);
    const listed = await api('GET', '/zones');
    const listedZones = (JSON.parse(listed.text) as Array<{ name: string }>).map((z) => z.name);
    const patch = await api('PATCH', `/zones/${probe}.`, { rrsets: [{ name: `${probe}.`, type: 'TXT', ttl: 30, changetype: 'REPLACE', records: [{ content: '"x"', disabled: false }] }] });
    console.log(`sqlite zone through the API: POST ${created.status}, www answers ${sqliteAnswer.join(' ')}; GET /zones lists ${listedZones.length} zones (${listedZones.filter((z) => z.includes('d0')).length} of them YAML zones); PATCH of a YAML zone: ${patch.status} ${patch.text.slice(0, 120)}`);
    figures.api_lists_yaml_zones = listedZones.length > 1;
    await api('DELETE', `/zones/${SQLITE_ZONE}.`);

    // Answers follow the client subnet, with the map subnet as ECS scope.
    const probes = pickSubnets(subnets, 4);
    for (const layout of all.slice(0, 3)) {
      const rec = records[all.indexOf(layout)];
      for (const s of probes) {
        const want = rec.decisions.find((d) => d.clientRegion === s.region)!.answer;
        const expected = want.kind === 'addresses' ? [...want.ipv4].sort() : [];
        const got = await dig(PORT, layout.domain, s.cidr);
        if (got.join(' ') !== expected.join(' ')) throw new Error(`${layout.domain} from ${s.cidr} (${s.region}) answered ${got.join(' ')}, want ${expected.join(' ')}`);
      }
    }
    console.log(`geo answers follow the client subnet (dig +subnet, 3 domains × ${probes.length} subnets)`);
    // A domain with a shard in Europe and one in North America: the EU client gets the EU shard, the NA client the US shard.
    const euSubnet = subnets.find((s) => s.region.startsWith('eu-'))!;
    const naSubnet = subnets.find((s) => s.region.startsWith('us-'))!;
    const both = all.findIndex((l) => l.shards.some((s) => s.region === euSubnet.region) && l.shards.some((s) => s.region === naSubnet.region));
    if (both < 0) throw new Error(`no layout has shards in both ${euSubnet.region} and ${naSubnet.region}: run with more --domains`);
    const eu24 = pickSubnets([euSubnet], 1)[0].cidr;
    const na24 = pickSubnets([naSubnet], 1)[0].cidr;
    const euShard = all[both].shards.find((s) => s.region === euSubnet.region)!;
    const naShard = all[both].shards.find((s) => s.region === naSubnet.region)!;
    const fromEu = await digFull(all[both].domain, 'A', eu24);
    const fromNa = await digFull(all[both].domain, 'A', na24);
    const fromNowhere = await digFull(all[both].domain, 'A', '10.1.2.0/24');
    const staticScope = await digFull(euShard.hostname, 'A', eu24);
    console.log(`${all[both].domain}: from ${eu24} (${euSubnet.cidr}, ${euSubnet.region}) ${fromEu.answers.join(' ')} scope ${fromEu.scope} (shard ${euShard.region}: ${euShard.endpoints.ipv4.join(' ')}); from ${na24} (${naSubnet.cidr}, ${naSubnet.region}) ${fromNa.answers.join(' ')} scope ${fromNa.scope} (shard ${naShard.region}: ${naShard.endpoints.ipv4.join(' ')}); from 10.1.2.0/24 (no map subnet) ${fromNowhere.answers.join(' ')} scope ${fromNowhere.scope}; static ${euShard.hostname} scope ${staticScope.scope}`);
    const sameSet = (a: string[], b: readonly string[]) => a.map((x) => x.split(' ').pop()).sort().join() === [...b].sort().join();
    if (!sameSet(fromEu.answers, euShard.endpoints.ipv4) || !sameSet(fromNa.answers, naShard.endpoints.ipv4)) throw new Error('the EU or NA client did not get its region\'s shard');
    figures.scope_eu = fromEu.scope;
    figures.scope_na = fromNa.scope;
    figures.scope_unmapped = fromNowhere.scope;
    figures.scope_static = staticScope.scope;

    // The packet cache: is a geo answer served from it, per (name, ECS subnet) or across subnets?
    const euOther = `${eu24.split('.').slice(0, 2).join('.')}.${(Number(eu24.split('.')[2]) + 1) % 256}.0/24`;
    const cacheSteps: Array<[string, string, string]> = [
      ['geo, EU /24', all[both].domain, eu24],
      ['geo, EU /24 again', all[both].domain, eu24],
      ['geo, another /24 of the EU map subnet', all[both].domain, euOther],
      ['geo, NA /24', all[both].domain, na24],
      ['static, EU /24', euShard.hostname, eu24],
      ['static, EU /24 again', euShard.hostname, eu24],
      ['static, NA /24', euShard.hostname, na24],
    ];
    await pdnsControl('purge');
    const cacheLines: string[] = [];
    for (const [label, name, subnet] of cacheSteps) {
      const c0 = await counters();
      await digFull(name, 'A', subnet);
      const c1 = await counters();
      const d = (k: string) => (c1.get(k) ?? 0) - (c0.get(k) ?? 0);
      cacheLines.push(`${label}: packet cache ${d('packetcache-hit') > 0 ? 'HIT' : 'miss'}, query cache hits ${d('query-cache-hit')} misses ${d('query-cache-miss')}`);
    }
    console.log(`packet cache, one query at a time:\n  ${cacheLines.join('\n  ')}`);
    figures.packet_cache_steps = cacheLines;

    // dnsperf, as bench:dns: interleaved static and geo per client subnet.
    const lines = queryLines(all, DOMAINS);
    writeFileSync(join(DIR, 'static.txt'), lines.static);
    writeFileSync(join(DIR, 'geo.txt'), lines.geo);
    const clients = pickSubnets(subnets, SUBNETS);
    const totals = { static: { completed: 0, seconds: 0, hit: 0, miss: 0 }, geo: { completed: 0, seconds: 0, hit: 0, miss: 0 } };
    figures.load_before = load();
    console.log(`dnsperf: ${clients.length} client subnets (${new Set(clients.map((c) => c.region)).size} regions), ${SECONDS} s per run, ${DOMAINS} names per query file; load average ${load()}`);
    for (const client of clients) {
      const ecs = ecsHex(client.cidr);
      for (const kind of ['static', 'geo'] as const) {
        const c0 = await counters();
        const r = await dnsperf(PORT, join(DIR, `${kind}.txt`), ecs, SECONDS);
        const c1 = await counters();
        totals[kind].completed += r.completed;
        totals[kind].seconds += r.seconds;
        totals[kind].hit += (c1.get('packetcache-hit') ?? 0) - (c0.get('packetcache-hit') ?? 0);
        totals[kind].miss += (c1.get('packetcache-miss') ?? 0) - (c0.get('packetcache-miss') ?? 0);
      }
    }
    figures.load_after = load();
    const staticQps = totals.static.completed / totals.static.seconds;
    const geoQps = totals.geo.completed / totals.geo.seconds;
    const hitRate = (k: 'static' | 'geo') => totals[k].hit / Math.max(1, totals[k].hit + totals[k].miss);
    console.log(`static ${Math.round(staticQps)} qps (packet cache hits ${(100 * hitRate('static')).toFixed(1)} %)   geo ${Math.round(geoQps)} qps (hits ${(100 * hitRate('geo')).toFixed(1)} %)   geo/static ${(geoQps / staticQps).toFixed(3)}; load average ${load()}`);
    summary = JSON.stringify({
      bench: 'dns-pdns-geoip',
      static_qps: Math.round(staticQps),
      geo_qps: Math.round(geoQps),
      ratio: Number((geoQps / staticQps).toFixed(3)),
      static_packet_cache_hit: Number(hitRate('static').toFixed(3)),
      geo_packet_cache_hit: Number(hitRate('geo').toFixed(3)),
      domains: DOMAINS,
      cache_ttl: CACHE_TTL,
      subnets: clients.length,
      start_s: figures.start_s,
      rediscover_s: figures.rediscover_s,
      rediscover_longest_geo_query_s: figures.rediscover_longest_geo_query_s,
      rediscover_shows_change_before_purge: figures.rediscover_shows_change_before_purge,
      scope_eu: figures.scope_eu,
      scope_na: figures.scope_na,
      scope_static: figures.scope_static,
      load_before: figures.load_before,
      load_after: figures.load_after,
    });
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)));
    console.log(`pdns_server (pid ${server.pid}) stopped`);
    if (!args.keep) rmSync(DIR, { recursive: true, force: true });
  }
  console.log(summary);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
