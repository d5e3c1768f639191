import { ClientDecision, ClientSubnet, DnsPolicy, domainRecords, DomainRecords, planChanges, Plan, RecordSet, RoundTrips, SyncPolicy, trafficImpact, TrafficMove, ZoneAuthority } from '@shardcast/dns';
import { metrics } from '@opentelemetry/api';
import { Logger } from '@shardcast/platform';
import { DnsStore } from '../persistence/dns-store';
import { DnsProvider } from '../providers/dns-provider';

export interface PublishCause {
  layoutVersion: number | null;
  eventId: string | null;
  /** A tombstone: the zone itself goes too, if dns-publisher made it and nothing foreign is left in it. */
  tombstone?: boolean;
}

export interface PublishOutcome {
  zone: string;
  plan: Plan;
  impact: TrafficMove[];
  /** The records' decisions (null: the domain has no layout). */
  records: DomainRecords | null;
}

const EMPTY: RecordSet = { rrsets: [], geo: [] };

const meter = metrics.getMeter('shardcast');
const recordChanges = meter.createCounter('shardcast.dns.record_changes', { description: 'DNS record changes applied, by provider and action' });
const answerChanges = meter.createCounter('shardcast.dns.answer_changes', { description: 'Client regions whose answered shard changed, by provider and reason' });

/**
 * Recomputes one domain's DNS from what is stored (latest layout, shard health, failure policy,
 * the latest capacity plan's routing)
 * and brings its zone on the provider there: plan against what the server holds, touching only
 * owned records, apply, then record ownership and the audit. Serialised per domain by an advisory
 * lock. Keys a plan creates are claimed before the write, so a crash after it leaves them owned.
 */
export class DomainPublisher {
  constructor(
    private readonly store: DnsStore,
    private readonly provider: DnsProvider,
    private readonly latency: RoundTrips,
    private readonly clientRegions: readonly string[],
    private readonly authority: () => ZoneAuthority,
    private readonly defaults: DnsPolicy,
    private readonly sync: SyncPolicy,
    private readonly logger: Logger,
    /** The client subnet map, for capacity-aware answers (null: off, every client region gets its closest healthy shard). */
    private readonly capacitySubnets: readonly ClientSubnet[] | null = null,
  ) {}

  /** What the domain's records would be now, and the plan to get there, without writing anything. */
  async preview(domain: string): Promise<PublishOutcome> {
    return this.store.withDomainLock(domain, async (tx) => {
      const { plan, records } = await this.planFor(domain, tx);
      return { zone: domain, plan, records, impact: trafficImpact(await this.store.decisions(tx, domain), records?.decisions ?? []) };
    });
  }

  async publish(domain: string, cause: PublishCause): Promise<PublishOutcome> {
    return this.store.withDomainLock(domain, async (tx) => {
      const { plan, records, zoneExists } = await this.planFor(domain, tx);
      const before = await this.store.decisions(tx, domain);
      const impact = trafficImpact(before, records?.decisions ?? []);
      if (this.provider.dryRun) {
        this.logger.info({ domain, provider: this.provider.name, changes: plan.changes.map((c) => `${c.action} ${c.key}`), impact: impact.map((m) => `${m.clientRegion}: ${m.from ?? '-'} → ${m.to ?? '-'}`) }, 'dry run: dns records planned, none applied');
        return { zone: domain, plan, records, impact };
      }
      if (plan.changes.length > 0) {
        if (!zoneExists) await this.store.zoneCreated(this.provider.name, domain);
        await this.store.claim(this.provider.name, domain, plan.changes.filter((c) => c.action === 'create').map((c) => c.key));
        await this.provider.apply(domain, this.authority(), plan);
      }
      if (cause.tombstone && (await this.store.createdZone(tx, this.provider.name, domain))) {
        // The zone dns-publisher made goes too, unless it holds records dns-publisher does not own.
        const left = (await this.provider.read(domain)) ?? EMPTY;
        if (left.rrsets.length === 0 && left.geo.length === 0) {
          await this.provider.deleteZone(domain);
          await this.store.zoneDeleted(tx, this.provider.name, domain);
        }
      }
      await this.store.recordApplied(tx, this.provider.name, domain, plan.owned, plan.changes, cause);
      if (records) await this.store.setDecisions(tx, domain, records.decisions);
      for (const c of plan.changes) recordChanges.add(1, { provider: this.provider.name, action: c.action });
      for (const m of impact) answerChanges.add(1, { provider: this.provider.name, reason: records?.decisions.find((d) => d.clientRegion === m.clientRegion)?.reason ?? 'removed' });
      for (const c of plan.conflicts) this.logger.warn({ domain, key: c.key, reason: c.reason }, 'record left alone: not dns-publisher\'s');
      if (plan.changes.length > 0 || impact.length > 0) {
        this.logger.info(
          { domain, provider: this.provider.name, layoutVersion: cause.layoutVersion, changes: plan.changes.map((c) => `${c.action} ${c.key}`), impact: impact.map((m) => `${m.clientRegion}: ${m.from ?? '-'} → ${m.to ?? '-'}`) },
          'dns records applied',
        );
      }
      return { zone: domain, plan, records, impact };
    });
  }

  private async planFor(domain: string, tx: Parameters<Parameters<DnsStore['withDomainLock']>[1]>[0]): Promise<{ plan: Plan; records: DomainRecords | null; zoneExists: boolean }> {
    const held = await this.store.layout(tx, domain);
    let records: DomainRecords | null = null;
    let desired = EMPTY;
    if (held?.layout) {
      const failure = (await this.store.failurePolicy(tx, domain)) ?? this.defaults.failure;
      const routing = this.capacitySubnets ? await this.store.routing(tx, domain) : null;
      const capacity = routing && this.capacitySubnets ? { routing, subnets: this.capacitySubnets } : null;
      records = domainRecords(held.layout, await this.store.health(tx, domain), this.clientRegions, this.latency, { ...this.defaults, failure }, capacity);
      desired = this.provider.desired(records);
    }
    const current = await this.provider.read(domain);
    const plan = planChanges(desired, current ?? EMPTY, await this.store.owned(tx, this.provider.name, domain), this.sync);
    return { plan, records, zoneExists: current !== null };
  }
}

export type { ClientDecision };
