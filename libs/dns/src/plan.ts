import { canonicalRRset, GeoRecord, recordKey, RRset } from './records';

/** What a provider holds, or should hold, for its zones: static RRsets and geo records, by key. */
export interface RecordSet {
  rrsets: readonly RRset[];
  geo: readonly GeoRecord[];
}

export type DnsRecord = { kind: 'rrset'; rrset: RRset } | { kind: 'geo'; geo: GeoRecord };

export interface Change {
  action: 'create' | 'update' | 'delete';
  key: string;
  before: DnsRecord | null;
  after: DnsRecord | null;
}

/** `sync` creates, updates and deletes what it owns; `upsert-only` never deletes. */
export type SyncPolicy = 'sync' | 'upsert-only';

export interface Plan {
  changes: Change[];
  /** Records wanted where a record dns-publisher does not own stands: left alone, reported. */
  conflicts: Array<{ key: string; reason: string }>;
  /** The keys dns-publisher owns once the plan is applied. */
  owned: string[];
}

const keyOf = (r: DnsRecord) => (r.kind === 'rrset' ? recordKey(r.rrset.name, r.rrset.type) : recordKey(r.geo.name, 'GEO'));

/** JSON with object keys sorted and RRset values canonical: equal records print alike. */
function fingerprint(r: DnsRecord): string {
  const value = r.kind === 'rrset' ? canonicalRRset(r.rrset) : r.geo;
  return JSON.stringify(value, (_k, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as object).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

function records(set: RecordSet): Map<string, DnsRecord> {
  const out = new Map<string, DnsRecord>();
  for (const rrset of set.rrsets) out.set(recordKey(rrset.name, rrset.type), { kind: 'rrset', rrset });
  for (const geo of set.geo) out.set(recordKey(geo.name, 'GEO'), { kind: 'geo', geo });
  return out;
}

/**
 * The changes that turn `current` into `desired`, touching only what dns-publisher owns (the
 * ownership registry's keys): a wanted record where a foreign one stands is a conflict, never an
 * overwrite; a foreign record is never deleted. Pure; applying the plan and planning again gives
 * no changes (a property test holds it). In key order, so a plan prints the same every time.
 */
export function planChanges(desired: RecordSet, current: RecordSet, owned: ReadonlySet<string>, policy: SyncPolicy = 'sync'): Plan {
  const want = records(desired);
  const have = records(current);
  const changes: Change[] = [];
  const conflicts: Plan['conflicts'] = [];
  const ownedAfter = new Set(owned);
  for (const [key, after] of want) {
    const before = have.get(key) ?? null;
    if (before === null) {
      changes.push({ action: 'create', key, before: null, after });
      ownedAfter.add(key);
    } else if (!owned.has(key)) {
      conflicts.push({ key, reason: 'a record dns-publisher does not own stands there' });
    } else if (fingerprint(before) !== fingerprint(after)) {
      changes.push({ action: 'update', key, before, after });
    }
  }
  for (const [key, before] of have) {
    if (want.has(key) || !owned.has(key)) continue;
    if (policy === 'sync') {
      changes.push({ action: 'delete', key, before, after: null });
      ownedAfter.delete(key);
    }
  }
  // Owned keys with no record left (deleted outside): nothing to own any more.
  for (const key of [...ownedAfter]) if (!want.has(key) && !have.has(key)) ownedAfter.delete(key);
  changes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  conflicts.sort((a, b) => (a.key < b.key ? -1 : 1));
  return { changes, conflicts, owned: [...ownedAfter].sort() };
}

/** `current` with a plan's changes applied, as a provider would: for tests, simulators and dry runs. */
export function applyPlan(current: RecordSet, plan: Plan): RecordSet {
  const have = records(current);
  for (const c of plan.changes) {
    if (c.action === 'delete') have.delete(c.key);
    else have.set(c.key, c.after!);
  }
  const all = [...have.values()];
  return { rrsets: all.flatMap((r) => (r.kind === 'rrset' ? [r.rrset] : [])), geo: all.flatMap((r) => (r.kind === 'geo' ? [r.geo] : [])) };
}

export { keyOf as recordKeyOf };
