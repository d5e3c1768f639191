import { DynamicModule, Module } from '@nestjs/common';
import { Logger, PlatformModule } from '@shardcast/platform';
import { AllocatorConfig } from './allocator.config';
import { AllocatorModule } from './allocator.module';

@Module({})
export class AppModule {
  static register(config: AllocatorConfig, logger: Logger): DynamicModule {
    return { module: AppModule, imports: [PlatformModule.forService(config, logger), AllocatorModule.register(config)] };
  }
}
