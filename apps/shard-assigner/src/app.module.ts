import { DynamicModule, Module } from '@nestjs/common';
import { Logger, PlatformModule } from '@shardcast/platform';
import { ShardAssignerConfig } from './shard-assigner.config';
import { ShardAssignerModule } from './shard-assigner.module';

@Module({})
export class AppModule {
  static register(config: ShardAssignerConfig, logger: Logger): DynamicModule {
    return { module: AppModule, imports: [PlatformModule.forService(config, logger), ShardAssignerModule.register(config)] };
  }
}
