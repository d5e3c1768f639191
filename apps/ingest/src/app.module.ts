import { DynamicModule, Module } from '@nestjs/common';
import { Logger, PlatformModule } from '@shardcast/platform';
import { IngestConfig } from './ingest.config';
import { IngestModule } from './ingest.module';

@Module({})
export class AppModule {
  static register(config: IngestConfig, logger: Logger): DynamicModule {
    return { module: AppModule, imports: [PlatformModule.forService(config, logger), IngestModule] };
  }
}
