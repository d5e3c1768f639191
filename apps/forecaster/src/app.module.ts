import { DynamicModule, Module } from '@nestjs/common';
import { Logger, PlatformModule } from '@shardcast/platform';
import { ForecasterConfig } from './forecaster.config';
import { ForecasterModule } from './forecaster.module';

@Module({})
export class AppModule {
  static register(config: ForecasterConfig, logger: Logger): DynamicModule {
    return { module: AppModule, imports: [PlatformModule.forService(config, logger), ForecasterModule.register(config)] };
  }
}
