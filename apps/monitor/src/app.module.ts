import { DynamicModule, Module } from '@nestjs/common';
import { Logger, PlatformModule } from '@shardcast/platform';
import { MonitorConfig } from './monitor.config';
import { MonitorModule } from './monitor.module';

@Module({})
export class AppModule {
  static register(config: MonitorConfig, logger: Logger): DynamicModule {
    return { module: AppModule, imports: [PlatformModule.forService(config, logger), MonitorModule.register(config)] };
  }
}
