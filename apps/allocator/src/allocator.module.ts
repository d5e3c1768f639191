import { DynamicModule, Module } from '@nestjs/common';
import { Topics } from '@shardcast/contracts';
import { deployedTopic, ServiceInfraModule } from '@shardcast/platform';
import { AllocatorConfig } from './allocator.config';
import { demandForecastHandler } from './handlers/demand-forecast.handler';

/** Wires the allocator: its database schema, the broker, and the demand.forecast.v1 handler. */
@Module({})
export class AllocatorModule {
  static register(config: AllocatorConfig): DynamicModule {
    return {
      module: AllocatorModule,
      imports: [
        // No tables yet: the migration list starts empty; schema comes from migrations only.
        ServiceInfraModule.forService({ clientId: 'allocator', brokers: config.KAFKA_BROKERS, databaseUrl: config.DATABASE_URL, schema: config.ALLOCATOR_DB_SCHEMA, migrations: [] }),
      ],
      controllers: [demandForecastHandler(deployedTopic(config, Topics.demandForecast))],
    };
  }
}
