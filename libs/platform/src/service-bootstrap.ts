import { DynamicModule, INestApplication, LoggerService, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { createLogger, Logger } from './logger';
import { HealthController, ReadinessRegistry } from './readiness';
import { PlatformConfig } from './config';
import { registerCompressionCodecs } from './compression-codecs';

export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const SERVICE_LOGGER = Symbol('SERVICE_LOGGER');

/** Health endpoints, config and logger for every service. */
@Module({})
export class PlatformModule {
  static forService<C extends PlatformConfig>(config: C, logger: Logger): DynamicModule {
    return {
      module: PlatformModule,
      global: true,
      controllers: [HealthController],
      providers: [ReadinessRegistry, { provide: SERVICE_CONFIG, useValue: config }, { provide: SERVICE_LOGGER, useValue: logger }],
      exports: [ReadinessRegistry, SERVICE_CONFIG, SERVICE_LOGGER],
    };
  }
}

class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}

export interface ServiceBootstrapOptions<C extends PlatformConfig> {
  name: string;
  module: Type<unknown> | DynamicModule;
  config: C;
  logger: Logger;
  /** Consumer group of the Nest Kafka transport (low-volume topics). */
  kafkaGroupId: string;
  /** Runs before the HTTP server listens (e.g. to mount OpenAPI docs). */
  beforeListen?: (app: INestApplication) => void | Promise<void>;
}

/**
 * A hybrid app: the Nest Kafka transport for low-volume topics plus an HTTP server for health and
 * the API. Returns once both listen.
 */
export async function bootstrapService<C extends PlatformConfig>(options: ServiceBootstrapOptions<C>): Promise<INestApplication> {
  registerCompressionCodecs();
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const app = await NestFactory.create(options.module, { logger: new PinoNestLogger(options.logger), abortOnError: false });
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.KAFKA,
    options: {
      client: { clientId: options.name, brokers: options.config.KAFKA_BROKERS },
      consumer: { groupId: options.kafkaGroupId, allowAutoTopicCreation: false },
      subscribe: { fromBeginning: true },
      postfixId: '',
    },
  });
  app.enableShutdownHooks();
  await options.beforeListen?.(app);
  await app.startAllMicroservices();
  await app.listen(options.config.HTTP_PORT, options.config.HTTP_HOST);
  options.logger.info({ port: options.config.HTTP_PORT }, `${options.name} listening`);
  return app;
}

export { createLogger };
