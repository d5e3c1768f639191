import { DynamicModule, Module } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { Topics } from '@shardcast/contracts';
import { LatencyMatrix } from '@shardcast/allocation';
import { DnsPolicy, FailurePolicy, parseClientSubnets, ZoneAuthority } from '@shardcast/dns';
import { parseRegionTable } from '@shardcast/geo';
import { API_KEYS, ApiKeyGuard, deployedTopic, Logger, SERVICE_LOGGER, ServiceInfraModule } from '@shardcast/platform';
import { DnsApiController } from './api/dns-api.controller';
import { ClientSubnetMap } from './publishing/client-subnet-map';
import { DnsPublisherConfig } from './dns-publisher.config';
import { shardAssignedHandler } from './handlers/shard-assigned.handler';
import { shardHealthHandler } from './handlers/shard-health.handler';
import { capacityPlanHandler } from './handlers/capacity-plan.handler';
import { DnsStore } from './persistence/dns-store';
import { dnsPublisherMigrations } from './persistence/migrations';
import { DnsProvider, DryRunProvider } from './providers/dns-provider';
import { KnotProvider } from './providers/knot-provider';
import { PowerDnsProvider } from './providers/powerdns-provider';
import { DomainPublisher } from './publishing/domain-publisher';
import { ResyncTicker } from './publishing/resync-ticker';

export function failurePolicyOf(text: string): FailurePolicy {
  return text === 'open' ? { mode: 'open' } : text === 'closed' ? { mode: 'closed' } : { mode: 'region', region: text.slice('region:'.length) };
}

/** The zone authority (SOA, NS): its serial is the time in seconds, so every write raises it. */
function authorityOf(config: DnsPublisherConfig): () => ZoneAuthority {
  return () => ({ nameservers: config.DNS_NAMESERVERS, hostmaster: config.DNS_HOSTMASTER, serial: Math.floor(Date.now() / 1000), refresh: 3600, retry: 600, expire: 604_800, minimum: config.DNS_TTL });
}

/** Wires the dns-publisher: layouts, health and capacity plans in, records out to the provider, state and audit in PostgreSQL, the answer API. */
@Module({})
export class DnsPublisherModule {
  static register(config: DnsPublisherConfig): DynamicModule {
    // Read before anything connects: a bad map stops the service at once.
    const subnets = new ClientSubnetMap(parseClientSubnets(readFileSync(config.DNS_CLIENT_SUBNETS_FILE, 'utf8')));
    const policy: DnsPolicy = { ttl: config.DNS_TTL, topN: config.DNS_TOP_N, failure: failurePolicyOf(config.DNS_FAILURE_POLICY) };
    return {
      module: DnsPublisherModule,
      imports: [
        ServiceInfraModule.forService({ clientId: 'dns-publisher', brokers: config.KAFKA_BROKERS, databaseUrl: config.DATABASE_URL, schema: config.DNS_PUBLISHER_DB_SCHEMA, migrations: dnsPublisherMigrations }),
      ],
      controllers: [
        shardAssignedHandler(deployedTopic(config, Topics.shardAssigned)),
        shardHealthHandler(deployedTopic(config, Topics.shardHealth)),
        capacityPlanHandler(deployedTopic(config, Topics.capacityPlan)),
        DnsApiController,
      ],
      providers: [
        { provide: ClientSubnetMap, useValue: subnets },
        { provide: DnsStore, useFactory: (db: DataSource) => new DnsStore(db, config.DNS_PUBLISHER_DB_SCHEMA), inject: [DataSource] },
        {
          provide: LatencyMatrix,
          useFactory: () => new LatencyMatrix(JSON.parse(readFileSync(config.DNS_LATENCY_FILE, 'utf8')), parseRegionTable(readFileSync(config.DNS_REGIONS_FILE, 'utf8'))),
        },
        {
          provide: DomainPublisher,
          useFactory: (store: DnsStore, latency: LatencyMatrix, logger: Logger) => {
            let provider: DnsProvider =
              config.DNS_PROVIDER === 'knot'
                ? new KnotProvider({ dir: config.KNOT_DIR, controlSocket: config.KNOT_CONTROL_SOCKET || resolve(config.KNOT_DIR, 'knot.sock') }, subnets.subnets)
                : new PowerDnsProvider({ apiUrl: config.PDNS_API_URL, apiKey: config.PDNS_API_KEY, serverId: config.PDNS_SERVER_ID }, subnets.subnets);
            if (config.DNS_DRY_RUN) provider = new DryRunProvider(provider);
            const clientRegions = [...new Set(subnets.subnets.map((s) => s.region))];
            return new DomainPublisher(store, provider, latency, clientRegions, authorityOf(config), policy, config.DNS_SYNC_POLICY, logger, config.DNS_CAPACITY_AWARE ? subnets.subnets : null);
          },
          inject: [DnsStore, LatencyMatrix, SERVICE_LOGGER],
        },
        {
          provide: ResyncTicker,
          useFactory: (store: DnsStore, publisher: DomainPublisher, logger: Logger) => new ResyncTicker(store, publisher, logger, config.DNS_RESYNC_INTERVAL_MS),
          inject: [DnsStore, DomainPublisher, SERVICE_LOGGER],
        },
        { provide: API_KEYS, useValue: { keys: config.DNS_PUBLISHER_API_KEYS, variable: 'DNS_PUBLISHER_API_KEYS' } },
        ApiKeyGuard,
      ],
    };
  }

  constructor(private readonly resync: ResyncTicker) {}

  onApplicationBootstrap(): void {
    this.resync.begin();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.resync.stop();
  }
}
