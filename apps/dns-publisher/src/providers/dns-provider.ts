import { DomainRecords, Plan, RecordSet, ZoneAuthority } from '@shardcast/dns';

/**
 * An authoritative DNS server dns-publisher writes to. Each domain is its own zone (delegated to
 * shardcast's nameservers): the domain's name is the apex, its shards' names are inside it.
 * A provider turns the records dns-publisher wants into its own form (`desired`: PowerDNS renders
 * a geo record as LUA records, Knot keeps it for its geoip module), reads what the server holds,
 * and applies a plan's changes. Implementations: PowerDNS (HTTP API), Knot (files + knotc).
 */
/** One zone's plan, for a batch. */
export interface ZonePlan {
  zone: string;
  authority: ZoneAuthority;
  plan: Plan;
}

export interface DnsProvider {
  readonly name: string;
  /** True for a dry run: nothing is written, so nothing may be recorded as owned or applied either. */
  readonly dryRun?: boolean;
  desired(records: DomainRecords): RecordSet;
  /** The zone's records as the server holds them (null: no such zone). SOA and NS are the zone's, not records. */
  read(zone: string): Promise<RecordSet | null>;
  /** read() of many zones, in order, as cheaply as the server allows. */
  readMany(zones: readonly string[]): Promise<Array<RecordSet | null>>;
  /** Creates the zone if missing, then applies the changes; idempotent. */
  apply(zone: string, authority: ZoneAuthority, plan: Plan): Promise<void>;
  /** apply() for many zones at once, as cheaply as the server allows (a full publish of every domain). */
  applyMany(batch: readonly ZonePlan[]): Promise<void>;
  deleteZone(zone: string): Promise<void>;
  deleteZones(zones: readonly string[]): Promise<void>;
}

/** Wraps a provider so that it plans and reports but never writes (`DNS_DRY_RUN`). */
export class DryRunProvider implements DnsProvider {
  readonly dryRun = true;
  readonly applied: Array<{ zone: string; plan: Plan }> = [];
  constructor(private readonly inner: DnsProvider) {}

  get name(): string {
    return `${this.inner.name} (dry run)`;
  }

  desired(records: DomainRecords): RecordSet {
    return this.inner.desired(records);
  }

  read(zone: string): Promise<RecordSet | null> {
    return this.inner.read(zone);
  }

  readMany(zones: readonly string[]): Promise<Array<RecordSet | null>> {
    return this.inner.readMany(zones);
  }

  async apply(zone: string, _authority: ZoneAuthority, plan: Plan): Promise<void> {
    this.applied.push({ zone, plan });
  }

  async applyMany(batch: readonly ZonePlan[]): Promise<void> {
    for (const { zone, plan } of batch) this.applied.push({ zone, plan });
  }

  async deleteZone(): Promise<void> {}

  async deleteZones(): Promise<void> {}
}
