import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DnsPublisherConfigSchema } from '../src/dns-publisher.config';

const ROOT = resolve(__dirname, '../../..');
const DOC = readFileSync(resolve(ROOT, 'docs/dns-publisher.md'), 'utf8');
const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8');

it('docs/dns-publisher.md documents every variable the config reads beyond the platform, and no other', () => {
  const table = DOC.slice(DOC.indexOf('## Configuration'));
  const documented = new Set([...table.matchAll(/^\| `([A-Z_]+)`/gm)].map((m) => m[1]));
  const read = Object.keys(DnsPublisherConfigSchema.shape).filter((k) => /^(DNS_|PDNS_|KNOT_)/.test(k));
  expect([...documented].sort()).toEqual(read.sort());
  expect(README).toContain('docs/dns-publisher.md#configuration');
});
