import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { ShardAssigned } from '@shardcast/contracts';
import { LatencyMatrix } from '@shardcast/allocation';
import { domainRecords, parseClientSubnets, renderZoneFile } from '@shardcast/dns';
import { parseRegionTable } from '@shardcast/geo';

const ROOT = resolve(__dirname, '../../..');

/** The RFC 1035 renderer's output, from a real layout's records, passes BIND's own checker. */
it('a rendered zone file passes named-checkzone', async () => {
  const latency = new LatencyMatrix(JSON.parse(readFileSync(resolve(ROOT, 'data/latency/aws-ping-p50-1y.json'), 'utf8')), parseRegionTable(readFileSync(resolve(ROOT, 'data/regions/awsData.js'), 'utf8')));
  const subnets = parseClientSubnets(readFileSync(resolve(ROOT, 'data/client-subnets/ipv4.csv'), 'utf8'));
  const layout: ShardAssigned = {
    domain: 'app.example.com',
    version: 3,
    shards: [
      { region: 'us-east-1', hostname: 'us-east.app.example.com', state: 'active', weight: 600, endpoints: { ipv4: ['192.0.2.1'], ipv6: ['2001:db8::1'] } },
      { region: 'eu-west-1', hostname: 'eu-west.app.example.com', state: 'active', weight: 400, endpoints: { ipv4: ['192.0.2.2'], ipv6: [] } },
      { region: 'ap-south-1', hostname: 'ap-south.app.example.com', state: 'warming', weight: 100, endpoints: { ipv4: [], ipv6: [], cname: 'lb.ap-south.example.net' } },
    ],
    ring: { algorithm: 'bounded-rendezvous-table-xxh32', seed: 1, tableBits: 16, loadBoundPermille: 50 },
    movement: { fromVersion: 2, moved: 0, exact: true, flows: [] },
    pendingMovement: null,
    source: null,
  };
  const records = domainRecords(layout, new Map(), [...new Set(subnets.map((s) => s.region))], latency);
  const text = renderZoneFile(
    'app.example.com',
    { nameservers: ['ns1.shardcast.example.net', 'ns2.shardcast.example.net'], hostmaster: 'hostmaster.shardcast.example.net', serial: 2026120301, refresh: 3600, retry: 600, expire: 604800, minimum: 30 },
    records.rrsets,
    records.geo ? [records.geo] : [],
    30,
  );
  const file = join(mkdtempSync(join(tmpdir(), 'zone-')), 'app.example.com.zone');
  writeFileSync(file, text);
  const { stdout } = await promisify(execFile)('named-checkzone', ['app.example.com', file]);
  expect(stdout).toMatch(/loaded serial 2026120301\s+OK/);
});
