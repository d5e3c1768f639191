import { Inject, Injectable } from '@nestjs/common';
import { metrics } from '@opentelemetry/api';
import type { ClassifiedFailure } from './failure-classification';
import type { Logger } from './logger';
import { MessagePosition, MessageRetries, RetryObserver, RetryOutcome } from './message-retries';
import { ReadinessRegistry } from './readiness';

export const SERVICE_LOGGER = Symbol('SERVICE_LOGGER');

const meter = metrics.getMeter('shardcast');
const failures = meter.createCounter('shardcast.consumer.failures', { description: 'Failed attempts at processing a message, by topic and kind (transient, unprocessable)' });
const stuckGauge = meter.createObservableGauge('shardcast.consumer.stuck_partitions', { description: 'Partitions whose current message has failed at least the stuck threshold of attempts' });

/**
 * A service's consumers under the failure policy (0015), one per process: every consumer's
 * processing runs through `run` (the Nest handlers' through ContractEventGate, ingest's batches
 * directly), so one readiness check (`consumers`: false while a partition is failing) and one
 * gauge (`shardcast.consumer.stuck_partitions`) cover them all. Failures are logged and counted here.
 */
@Injectable()
export class ConsumerFailures implements RetryObserver {
  private readonly retries: MessageRetries;

  constructor(
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    readiness: ReadinessRegistry,
  ) {
    this.retries = new MessageRetries(this);
    readiness.register('consumers', async () => {
      const failing = this.retries.failing().filter((f) => f.attempts > 1);
      if (failing.length > 0) throw new Error(failing.map((f) => `${f.topic}[${f.partition}]@${f.offset}: ${f.attempts} attempts: ${f.reason}`).join('; '));
    });
    stuckGauge.addCallback((result) => result.observe(this.retries.stuckCount()));
  }

  /** Runs one message's (or one batch's) processing under the policy; see MessageRetries.run. */
  run(position: MessagePosition, process: () => Promise<void>): Promise<RetryOutcome> {
    return this.retries.run(position, process);
  }

  failed(position: MessagePosition, failure: ClassifiedFailure, attempts: number): void {
    failures.add(1, { topic: position.topic, kind: failure.kind });
    this.logger.warn({ ...position, attempts, kind: failure.kind, reason: failure.reason }, 'processing an event failed; retrying');
  }

  stuck(position: MessagePosition, failure: ClassifiedFailure, attempts: number): void {
    this.logger.error({ ...position, attempts, kind: failure.kind, reason: failure.reason }, 'partition stuck on one offset');
  }

  recovered(position: MessagePosition, attempts: number): void {
    this.logger.info({ ...position, attempts }, 'event processed after retries');
  }
}
