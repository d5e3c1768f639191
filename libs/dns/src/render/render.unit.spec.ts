import fc from 'fast-check';
import { GeoRecord, RRset, valueProblem } from '../records';
import { ClientSubnet } from '../client-subnets';
import { renderKnotGeoip } from './knot-geoip';
import { pdnsClientMapGlobal, renderPdnsClientMap, renderPdnsGeoLua, renderPdnsLua } from './pdns-lua';
import { renderZoneFile, RenderRefused, ZoneAuthority } from './zone-file';

const AUTHORITY: ZoneAuthority = { nameservers: ['ns1.shardcast.example.net', 'ns2.shardcast.example.net'], hostmaster: 'hostmaster.shardcast.example.net', serial: 7, refresh: 3600, retry: 600, expire: 604800, minimum: 30 };
const MAP: ClientSubnet[] = [
  { cidr: '2.0.0.0/8', region: 'eu-west-1' },
  { cidr: '3.0.0.0/8', region: 'us-east-1' },
  { cidr: '5.0.0.0/8', region: 'eu-west-1' },
  { cidr: '2001:db8::/32', region: 'eu-west-1' },
];
const GEO: GeoRecord = {
  name: 'app.example.com',
  ttl: 30,
  byClientRegion: {
    'eu-west-1': { kind: 'addresses', ipv4: ['192.0.2.2'], ipv6: ['2001:db8::2'] },
    'us-east-1': { kind: 'addresses', ipv4: ['192.0.2.1'], ipv6: [] },
  },
  fallback: { kind: 'addresses', ipv4: ['192.0.2.1'], ipv6: [] },
};
const RRSETS: RRset[] = [
  { name: 'eu-west-1.app.example.com', type: 'A', ttl: 30, values: ['192.0.2.2'] },
  { name: 'us-east-1.app.example.com', type: 'A', ttl: 30, values: ['192.0.2.1'] },
  { name: 'ap.app.example.com', type: 'CNAME', ttl: 30, values: ['lb.example.net'] },
];

describe('renderZoneFile', () => {
  it('writes SOA, NS, the shards and the geo fallback, absolute names, in a stable order', () => {
    expect(renderZoneFile('app.example.com', AUTHORITY, RRSETS, [GEO], 30)).toBe(
      [
        '$ORIGIN app.example.com.',
        '$TTL 30',
        'app.example.com. IN SOA ns1.shardcast.example.net. hostmaster.shardcast.example.net. 7 3600 600 604800 30',
        'app.example.com. IN NS ns1.shardcast.example.net.',
        'app.example.com. IN NS ns2.shardcast.example.net.',
        'ap.app.example.com. 30 IN CNAME lb.example.net.',
        'app.example.com. 30 IN A 192.0.2.1',
        'eu-west-1.app.example.com. 30 IN A 192.0.2.2',
        'us-east-1.app.example.com. 30 IN A 192.0.2.1',
        '',
      ].join('\n'),
    );
  });

  it.each([
    ['a newline in a name', { name: 'x.app.example.com\n$INCLUDE /etc/passwd', type: 'A', ttl: 30, values: ['192.0.2.1'] }],
    ['a semicolon in a value', { name: 'x.app.example.com', type: 'A', ttl: 30, values: ['192.0.2.1 ; comment'] }],
    ['a quote in TXT', { name: 'x.app.example.com', type: 'TXT', ttl: 30, values: ['a" IN A 6.6.6.6 "'] }],
    ['a name outside the zone', { name: 'evil.example.org', type: 'A', ttl: 30, values: ['192.0.2.1'] }],
    ['an upper-case name', { name: 'X.app.example.com', type: 'A', ttl: 30, values: ['192.0.2.1'] }],
    ['a TTL of 0', { name: 'x.app.example.com', type: 'A', ttl: 0, values: ['192.0.2.1'] }],
  ] as Array<[string, RRset]>)('refuses %s, with the reason', (_what, rrset) => {
    expect(() => renderZoneFile('app.example.com', AUTHORITY, [rrset], [], 30)).toThrow(RenderRefused);
  });

  it('fuzz: any name, value or TXT is refused or rendered as lines of the strict grammar', () => {
    const LINE = /^(\$ORIGIN [a-z0-9.-]+\.|\$TTL [0-9]+|[a-z0-9.-]+\. IN (SOA|NS) [ a-z0-9.-]+|[a-z0-9.-]+\. [0-9]+ IN (A [0-9.]+|AAAA [0-9a-f:]+|CNAME [a-z0-9.-]+\.|TXT "[^"\\\n]*"))$/;
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('x.app.example.com', '192.0.2.1', '2001:db8::1', 'a\nb', '"', '\\', '; x', '$INCLUDE x', 'x.app.example.com.'));
    fc.assert(
      fc.property(fc.constantFrom('A', 'AAAA', 'CNAME', 'TXT') as fc.Arbitrary<RRset['type']>, text, text, (type, name, value) => {
        let out: string;
        try {
          out = renderZoneFile('app.example.com', AUTHORITY, [{ name: name.includes('.') ? name : `${name}.app.example.com`, type, ttl: 30, values: [value] }], [], 30);
        } catch (err) {
          expect(err).toBeInstanceOf(RenderRefused);
          return;
        }
        for (const line of out.trimEnd().split('\n')) expect(line).toMatch(LINE);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('renderKnotGeoip', () => {
  it('writes each name with one entry per client subnet, the region\'s answer', () => {
    expect(renderKnotGeoip([GEO], MAP)).toBe(
      [
        'app.example.com.:',
        '  - net: 2.0.0.0/8',
        '    A: [192.0.2.2]',
        '    AAAA: [2001:db8::2]',
        '  - net: 2001:db8::/32',
        '    A: [192.0.2.2]',
        '    AAAA: [2001:db8::2]',
        '  - net: 5.0.0.0/8',
        '    A: [192.0.2.2]',
        '    AAAA: [2001:db8::2]',
        '  - net: 3.0.0.0/8',
        '    A: [192.0.2.1]',
        '',
      ].join('\n'),
    );
  });

  it('refuses a subnet that is not a network, or a geo answer that is not an address', () => {
    expect(() => renderKnotGeoip([GEO], [{ cidr: '2.0.0.1/8', region: 'eu-west-1' }])).toThrow(RenderRefused);
    expect(() => renderKnotGeoip([GEO], [{ cidr: '2.0.0.0/8\n  - net: 0.0.0.0/0', region: 'eu-west-1' }])).toThrow(RenderRefused);
    expect(() => renderKnotGeoip([{ ...GEO, fallback: { kind: 'addresses', ipv4: ['1.2.3.4]\nevil: ['], ipv6: [] } }], MAP)).toThrow(RenderRefused);
  });
});

describe('renderPdnsLua', () => {
  it('writes one view() per answered type, regions in order, then the fallback', () => {
    expect(renderPdnsLua(GEO, MAP)).toEqual([
      { name: 'app.example.com', ttl: 30, content: `A "view({{{'2.0.0.0/8', '2001:db8::/32', '5.0.0.0/8'}, {'192.0.2.2'}}, {{'3.0.0.0/8'}, {'192.0.2.1'}}, {{'0.0.0.0/0', '::/0'}, {'192.0.2.1'}}})"` },
      { name: 'app.example.com', ttl: 30, content: `AAAA "view({{{'2.0.0.0/8', '2001:db8::/32', '5.0.0.0/8'}, {'2001:db8::2'}}, {{'3.0.0.0/8'}, {}}, {{'0.0.0.0/0', '::/0'}, {}}})"` },
    ]);
  });

  it('fuzz: an address or subnet that could close a Lua string is refused; what renders holds only safe characters', () => {
    const token = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("1.2.3.4'}}, os.execute('x') --", '192.0.2.9', '10.0.0.0/8', "'", '"', ']]'));
    fc.assert(
      fc.property(token, token, (ip, cidr) => {
        let out;
        try {
          out = renderPdnsLua({ ...GEO, fallback: { kind: 'addresses', ipv4: [ip], ipv6: [] } }, [{ cidr, region: 'eu-west-1' }]);
        } catch (err) {
          expect(err).toBeInstanceOf(RenderRefused);
          return;
        }
        for (const r of out) expect(r.content).toMatch(/^(A|AAAA) "view\(\{[{}'0-9a-f.:/, ]*\}\)"$/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('renderPdnsClientMap and renderPdnsGeoLua', () => {
  const global = pdnsClientMapGlobal(MAP);

  it('writes the map once per zone as tables of region indexes (longest prefix first), and geo records of one answer per map region', () => {
    const map = renderPdnsClientMap('app.example.com', MAP);
    expect(map.name).toBe('shardcast-client-map.app.example.com');
    // Subnets in CIDR order (2.0.0.0/8 = 1, 2001:db8::/32 = 2, 3.0.0.0/8 = 3, 5.0.0.0/8 = 4; 2.0.0.0/8 is network 2 at /8), regions in order: eu-west-1 = 1, us-east-1 = 2.
    expect(map.content).toContain(`TXT "local v4 = {[8] = {[2] = 1, [3] = 3, [5] = 4}} local lengths = {8} local v6 = {{'2001:db8::/32', 2}} local reg = {1, 1, 2, 1} ${global} = ${global} or (function()`);
    expect(renderPdnsGeoLua(GEO, MAP)).toEqual([
      { name: 'app.example.com', ttl: 30, content: `A ";if not ${global} then include('shardcast-client-map') end return ${global}(bestwho, {{'192.0.2.2'}, {'192.0.2.1'}}, {'192.0.2.1'})"` },
      { name: 'app.example.com', ttl: 30, content: `AAAA ";if not ${global} then include('shardcast-client-map') end return ${global}(bestwho, {{'2001:db8::2'}, {}}, {})"` },
    ]);
  });

  it('names the map after its content: a changed map is a new Lua global, never an old definition', () => {
    expect(pdnsClientMapGlobal([...MAP].reverse())).toBe(global);
    expect(pdnsClientMapGlobal([...MAP, { cidr: '6.0.0.0/8', region: 'us-east-1' }])).not.toBe(global);
  });

  it('a region with no decision gets the fallback (0), and what renders passes the LUA check', () => {
    const out = renderPdnsGeoLua({ ...GEO, byClientRegion: { 'us-east-1': GEO.byClientRegion['us-east-1'] } }, MAP);
    expect(out[0].content).toContain('(bestwho, {0, {\'192.0.2.1\'}}, {\'192.0.2.1\'})');
    for (const r of [...out, renderPdnsClientMap('app.example.com', MAP)]) expect(valueProblem('LUA', r.content)).toBeNull();
    expect(valueProblem('LUA', `A ";if not ${global} then os.execute('x') end return ${global}(bestwho, {}, {})"`)).not.toBeNull();
  });

  it('fuzz: an address or subnet that could close a Lua string is refused; what renders passes the LUA check', () => {
    const token = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("1.2.3.4'}}, os.execute('x') --", '192.0.2.9', '10.0.0.0/8', '2001:db8::/32', "'", '"', ']]'));
    fc.assert(
      fc.property(token, token, (ip, cidr) => {
        let out;
        try {
          const map = [{ cidr, region: 'eu-west-1' }];
          out = [...renderPdnsGeoLua({ ...GEO, fallback: { kind: 'addresses', ipv4: [ip], ipv6: [] } }, map), renderPdnsClientMap('app.example.com', map)];
        } catch (err) {
          expect(err).toBeInstanceOf(RenderRefused);
          return;
        }
        for (const r of out) expect(valueProblem('LUA', r.content)).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });
});
