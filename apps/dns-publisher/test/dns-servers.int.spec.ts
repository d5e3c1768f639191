import { execFile } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually, stackEnv, uniqueName } from '@shardcast/test-stack';

// The stack's two authoritative servers (deploy/local/stack.sh), driven the way dns-publisher's
// providers will drive them: PowerDNS through its HTTP API, Knot through files and `knotc reload`.
// Answers are read with the real dig, as a resolver forwarding a client subnet (ECS) would ask.

jest.setTimeout(60_000);

const run = promisify(execFile);
const env = stackEnv();

// Client subnets (ECS) a resolver could forward, and the answer each region's clients get.
const EUROPE = { clientSubnet: '81.2.69.0/24', net: '81.0.0.0/8', answer: '198.51.100.10' };
const AMERICA = { clientSubnet: '24.48.0.0/24', net: '24.0.0.0/8', answer: '198.51.100.20' };
const ELSEWHERE = { clientSubnet: '203.0.113.0/24', answer: '192.0.2.1' };

/** The sorted A/AAAA/CNAME data dig prints for `name`, or dig's status line when there is none. */
async function dig(port: string, name: string, clientSubnet?: string): Promise<string[]> {
  const args = ['@127.0.0.1', '-p', port, '+time=2', '+tries=2', '+norecurse', name, 'A'];
  if (clientSubnet) args.push(`+subnet=${clientSubnet}`);
  const { stdout } = await run('dig', [...args, '+short']);
  const answers = stdout.trim().split('\n').filter(Boolean).sort();
  if (answers.length > 0) return answers;
  const full = await run('dig', args);
  return [/status: ([A-Z]+)/.exec(full.stdout)?.[1] ?? 'no status'];
}

/** A zone name of this test's own (uniqueName's underscore is not a hostname character). */
function uniqueZone(prefix: string): string {
  return `${uniqueName(prefix).replace(/_/g, '-')}.test`;
}

describe('PowerDNS (HTTP API, LUA records by client subnet)', () => {
  const zone = uniqueZone('pdns');
  const zonesUrl = `${env.PDNS_API_URL}/api/v1/servers/localhost/zones`;

  async function api(method: string, url: string, body?: unknown): Promise<Response> {
    const response = await fetch(url, {
      method,
      headers: { 'X-API-Key': env.PDNS_API_KEY, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
    return response;
  }

  afterAll(async () => {
    // Gone already when the test passed; a failed run must not leave its zone behind.
    await fetch(`${zonesUrl}/${zone}.`, { method: 'DELETE', headers: { 'X-API-Key': env.PDNS_API_KEY } }).catch(() => undefined);
  });

  it('serves a zone created through the API: a static record, a LUA record answering by client subnet, changes and deletion', async () => {
    // `view` picks the first entry whose netmasks hold the client (the ECS subnet when sent).
    const geo = `A "view({{{'${EUROPE.net}'}, {'${EUROPE.answer}'}}, {{'${AMERICA.net}'}, {'${AMERICA.answer}'}}, {{'0.0.0.0/0', '::/0'}, {'${ELSEWHERE.answer}'}}})"`;
    await api('POST', zonesUrl, {
      name: `${zone}.`,
      kind: 'Native',
      nameservers: [`ns1.${zone}.`],
      rrsets: [
        { name: `static.${zone}.`, type: 'A', ttl: 60, records: [{ content: '192.0.2.7', disabled: false }] },
        { name: `www.${zone}.`, type: 'LUA', ttl: 30, records: [{ content: geo, disabled: false }] },
      ],
    });

    const port = env.PDNS_DNS_PORT;
    expect(await dig(port, `static.${zone}`)).toEqual(['192.0.2.7']);
    expect(await dig(port, `www.${zone}`, EUROPE.clientSubnet)).toEqual([EUROPE.answer]);
    expect(await dig(port, `www.${zone}`, AMERICA.clientSubnet)).toEqual([AMERICA.answer]);
    expect(await dig(port, `www.${zone}`, ELSEWHERE.clientSubnet)).toEqual([ELSEWHERE.answer]);

    // A change is a PATCH of the changed rrsets only; PowerDNS purges its caches for the zone.
    await api('PATCH', `${zonesUrl}/${zone}.`, {
      rrsets: [{ name: `static.${zone}.`, type: 'A', ttl: 60, changetype: 'REPLACE', records: [{ content: '192.0.2.8', disabled: false }] }],
    });
    expect(await dig(port, `static.${zone}`)).toEqual(['192.0.2.8']);

    await api('DELETE', `${zonesUrl}/${zone}.`);
    expect(await dig(port, `static.${zone}`)).toEqual(['REFUSED']);
  });
});

describe('Knot (zone files, mod-geoip by client subnet, knotc reload)', () => {
  const zone = uniqueZone('knot');
  const zoneFile = join(env.KNOT_DIR, 'zones', `${zone}.zone`);
  const geoipFile = join(env.KNOT_DIR, 'zones', `${zone}.geoip.yaml`);
  const zoneConf = join(env.KNOT_DIR, 'zones.d', `${zone}.conf`);

  async function knotcReload(): Promise<void> {
    await run('knotc', ['-s', env.KNOT_CONTROL_SOCKET, 'reload']);
  }

  /** Whole file or nothing: knotd (or another test's reload) never reads a half-written file. */
  function writeAtomically(path: string, content: string): void {
    // The temporary name does not end in .conf, so the zones.d/*.conf include never matches it.
    writeFileSync(`${path}.tmp`, content);
    renameSync(`${path}.tmp`, path);
  }

  function writeZone(serial: number, staticAddress: string): void {
    writeAtomically(
      zoneFile,
      [
        `$ORIGIN ${zone}.`,
        '$TTL 60',
        `@ SOA ns1 hostmaster ${serial} 3600 600 86400 60`,
        '@ NS ns1',
        'ns1 A 127.0.0.1',
        `static A ${staticAddress}`,
        // Clients of no listed subnet get the zone's own record.
        `www A ${ELSEWHERE.answer}`,
        '',
      ].join('\n'),
    );
  }

  afterAll(async () => {
    for (const f of [zoneConf, zoneFile, geoipFile]) rmSync(f, { force: true });
    await knotcReload().catch(() => undefined);
  });

  it('serves a zone added by files and knotc reload: answers by client subnet, changes and removal', async () => {
    writeZone(1, '192.0.2.7');
    writeAtomically(
      geoipFile,
      [`www.${zone}.:`, `  - net: ${EUROPE.net}`, `    A: [${EUROPE.answer}]`, `  - net: ${AMERICA.net}`, `    A: [${AMERICA.answer}]`, ''].join('\n'),
    );
    // Last: once the include sees this, the zone file and the subnet map are complete.
    writeAtomically(
      zoneConf,
      [
        'mod-geoip:',
        `  - id: ${zone}`,
        `    config-file: "${geoipFile}"`,
        '    mode: subnet',
        '    ttl: 30',
        'zone:',
        `  - domain: ${zone}`,
        `    module: mod-geoip/${zone}`,
        '',
      ].join('\n'),
    );
    await knotcReload();

    const port = env.KNOT_DNS_PORT;
    // The reload returns once the configuration is read; the zone loads in the background.
    await eventually(() => dig(port, `static.${zone}`), (a) => a[0] === '192.0.2.7', 10_000);
    expect(await dig(port, `www.${zone}`, EUROPE.clientSubnet)).toEqual([EUROPE.answer]);
    expect(await dig(port, `www.${zone}`, AMERICA.clientSubnet)).toEqual([AMERICA.answer]);
    expect(await dig(port, `www.${zone}`, ELSEWHERE.clientSubnet)).toEqual([ELSEWHERE.answer]);

    // A change: rewrite the zone file with a higher serial, reload.
    writeZone(2, '192.0.2.8');
    await knotcReload();
    await eventually(() => dig(port, `static.${zone}`), (a) => a[0] === '192.0.2.8', 10_000);

    // Removal: the config goes first and is applied, then the files (a reload must never find the
    // subnet map its mod-geoip names missing).
    rmSync(zoneConf);
    await knotcReload();
    rmSync(zoneFile);
    rmSync(geoipFile);
    await eventually(() => dig(port, `static.${zone}`), (a) => a[0] === 'REFUSED', 10_000);
  });
});
