import { domainToASCII } from 'node:url';

export const MAX_DOMAIN_LENGTH = 253;
export const MAX_LABEL_LENGTH = 63;

const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

export type DomainCheck = { ok: true; domain: string } | { ok: false; reason: string };

/**
 * Normalises a host name to its canonical form (lowercase A-labels, IDNA/UTS-46 via WHATWG URL)
 * and checks DNS limits. Case and a trailing root dot are not errors: both name the same host.
 */
export function normalizeDomain(input: unknown): DomainCheck {
  if (typeof input !== 'string') return { ok: false, reason: 'domain must be a string' };
  if (input.length === 0) return { ok: false, reason: 'domain is empty' };
  if (input.length > 4 * MAX_DOMAIN_LENGTH) return { ok: false, reason: 'domain is too long' };
  const trimmed = input.endsWith('.') ? input.slice(0, -1) : input;
  // domainToASCII also accepts things that are not host names (IPv4 literals, '_'), checked below.
  const ascii = domainToASCII(trimmed);
  if (ascii === '') return { ok: false, reason: `not a valid IDNA domain name: ${JSON.stringify(input.slice(0, 80))}` };
  if (ascii.length > MAX_DOMAIN_LENGTH) return { ok: false, reason: `domain is longer than ${MAX_DOMAIN_LENGTH} characters` };
  const labels = ascii.split('.');
  if (labels.length < 2) return { ok: false, reason: 'domain needs at least two labels (e.g. app.example.com)' };
  for (const label of labels) {
    if (label.length === 0) return { ok: false, reason: 'domain has an empty label' };
    if (label.length > MAX_LABEL_LENGTH) return { ok: false, reason: `label longer than ${MAX_LABEL_LENGTH} characters` };
    if (!LABEL.test(label)) return { ok: false, reason: `label ${JSON.stringify(label)} has characters outside a-z, 0-9 and inner '-'` };
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return { ok: false, reason: 'an IP address is not a domain' };
  return { ok: true, domain: ascii };
}
