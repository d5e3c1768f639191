import { DynamicModule, Module } from '@nestjs/common';
import { Topics } from '@shardcast/contracts';
import { deployedTopic, ServiceInfraModule } from '@shardcast/platform';
import { DnsPublisherConfig } from './dns-publisher.config';
import { shardAssignedHandler } from './handlers/shard-assigned.handler';

/** Wires the dns-publisher: its database schema, the broker, and the shard.assigned.v1 handler. */
@Module({})
export class DnsPublisherModule {
  static register(config: DnsPublisherConfig): DynamicModule {
    return {
      module: DnsPublisherModule,
      imports: [
        // No tables yet: the migration list starts empty; schema comes from migrations only.
        ServiceInfraModule.forService({ clientId: 'dns-publisher', brokers: config.KAFKA_BROKERS, databaseUrl: config.DATABASE_URL, schema: config.DNS_PUBLISHER_DB_SCHEMA, migrations: [] }),
      ],
      controllers: [shardAssignedHandler(deployedTopic(config, Topics.shardAssigned))],
    };
  }
}
