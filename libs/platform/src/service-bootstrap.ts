import { DynamicModule, Inject, INestApplication, LoggerService, Module, OnApplicationShutdown, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { createLogger, Logger } from './logger';
import { HealthController, ReadinessRegistry } from './readiness';
import { registerCompressionCodecs } from './compression-codecs';
import { ConsumerFailures } from './consumer-failures';
import { ContractEventGate, DEAD_LETTER_PUBLISHER, SERVICE_LOGGER } from './contract-event-gate';
import { DeadLetterPublisher } from './dead-letter-publisher';
import { createKafka, ensureTopics } from './kafka-client';
import { loadConfig, PlatformConfig } from './config';
import { HttpErrorFilter, RouteMethods } from './http-error-filter';
import { contractTopicSpecs } from '@shardcast/contracts';
import type { z } from 'zod';

export { SERVICE_LOGGER };

export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');

/** Health endpoints, config and logger for every service. */
@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(@Inject(DEAD_LETTER_PUBLISHER) private readonly deadLetters: DeadLetterPublisher) {}

  async onApplicationShutdown(): Promise<void> {
    await this.deadLetters.close();
  }

  static forService<C extends PlatformConfig>(config: C, logger: Logger, consumerGroup: string): DynamicModule {
    return {
      module: PlatformModule,
      global: true,
      controllers: [HealthController],
      providers: [
        ReadinessRegistry,
        { provide: SERVICE_CONFIG, useValue: config },
        { provide: SERVICE_LOGGER, useValue: logger },
        {
          provide: DEAD_LETTER_PUBLISHER,
          useFactory: async () => {
            const producer = createKafka(config.KAFKA_BROKERS, 'dead-letters', logger).producer();
            await producer.connect();
            return new DeadLetterPublisher(producer, consumerGroup, logger);
          },
        },
        ConsumerFailures,
        ContractEventGate,
      ],
      exports: [ReadinessRegistry, SERVICE_CONFIG, SERVICE_LOGGER, DEAD_LETTER_PUBLISHER, ConsumerFailures, ContractEventGate],
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

/** A service's root: the platform (health, config, logger, dead letters) beside the service's own module. */
@Module({})
class ServiceRootModule {}

export interface ServiceBootstrapOptions<C extends PlatformConfig> {
  name: string;
  /** The service's own module; the platform's is added beside it. */
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
  // Nest's Kafka server subscribes inside startAllMicroservices, before any module lifecycle hook
  // runs, and the broker does not auto-create topics: the contract topics must exist first.
  await ensureTopics(createKafka(options.config.KAFKA_BROKERS, `${options.name}-admin`, options.logger), contractTopicSpecs(), options.config.KAFKA_TOPIC_PARTITIONS, options.config.KAFKA_TOPIC_PREFIX);
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const root: DynamicModule = { module: ServiceRootModule, imports: [PlatformModule.forService(options.config, options.logger, options.kafkaGroupId), options.module] };
  const app = await NestFactory.create(root, { logger: new PinoNestLogger(options.logger), abortOnError: false });
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.KAFKA,
    options: {
      client: { clientId: options.name, brokers: options.config.KAFKA_BROKERS },
      consumer: { groupId: options.kafkaGroupId, allowAutoTopicCreation: false },
      subscribe: { fromBeginning: true },
      // Original bytes reach the handler, so an invalid message can be dead-lettered unchanged.
      parser: { keepBinary: true },
      postfixId: '',
    },
  });
  app.enableShutdownHooks();
  app.useGlobalFilters(new HttpErrorFilter(options.logger, expressRouteMethods(app)));
  await options.beforeListen?.(app);
  await app.startAllMicroservices();
  await app.listen(options.config.HTTP_PORT, options.config.HTTP_HOST);
  // The bound port, not the configured one: HTTP_PORT=0 asks the OS for a free port.
  const address = app.getHttpServer().address() as { port?: number } | string | null;
  options.logger.info({ port: typeof address === 'object' && address ? address.port : options.config.HTTP_PORT }, `${options.name} ready`);
  return app;
}

/** Reads Express's route table, so that a known path asked with the wrong method gets 405, not 404. */
function expressRouteMethods(app: INestApplication): RouteMethods {
  type Layer = { route?: { methods: Record<string, boolean> }; match(path: string): boolean };
  const express = app.getHttpAdapter().getInstance() as { router?: { stack: Layer[] } };
  return (path) => {
    const methods = new Set<string>();
    for (const layer of express.router?.stack ?? []) {
      if (!layer.route || !layer.match(path)) continue;
      for (const [method, routed] of Object.entries(layer.route.methods)) if (routed && method !== '_all') methods.add(method.toUpperCase());
    }
    return [...methods].sort();
  };
}

/**
 * A service's main: validated config (a bad value exits 1 naming the variable), JSON logger, the
 * contract topics, the hybrid app. OpenTelemetry must already be started (first import of main.ts).
 */
export function runService<S extends z.ZodType<PlatformConfig>>(options: {
  name: string;
  configSchema: S;
  module: (config: z.infer<S>) => Type<unknown> | DynamicModule;
  kafkaGroupId?: (config: z.infer<S>) => string;
  beforeListen?: (app: INestApplication) => void | Promise<void>;
}): void {
  (async () => {
    const config = loadConfig(options.configSchema);
    const logger = createLogger(options.name, config.LOG_LEVEL);
    await bootstrapService({
      name: options.name,
      module: options.module(config),
      config,
      logger,
      kafkaGroupId: options.kafkaGroupId?.(config) ?? `${config.KAFKA_GROUP_PREFIX}-${options.name}`,
      beforeListen: options.beforeListen,
    });
  })().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

export { createLogger };
