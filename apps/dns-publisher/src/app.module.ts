import { DynamicModule, Module } from '@nestjs/common';
import { Logger, PlatformModule } from '@shardcast/platform';
import { DnsPublisherConfig } from './dns-publisher.config';
import { DnsPublisherModule } from './dns-publisher.module';

@Module({})
export class AppModule {
  static register(config: DnsPublisherConfig, logger: Logger): DynamicModule {
    return { module: AppModule, imports: [PlatformModule.forService(config, logger), DnsPublisherModule.register(config)] };
  }
}
