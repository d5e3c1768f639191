import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@shardcast/platform';
import { DesiredCapacity, PoolDriver } from './pool-driver';

export interface WebhookOptions {
  url: string;
  /** Per attempt. */
  timeoutMs: number;
  maxAttempts: number;
  /** First retry after this, doubling each time (plus up to 20 % jitter). */
  backoffMs: number;
}

/** Headers a receiver deduplicates on: one plan version is one change, however often it is delivered. */
export const WebhookHeaders = { idempotencyKey: 'idempotency-key', planVersion: 'x-shardcast-plan-version' } as const;

/** Outcome of one delivery: how many attempts, and the last status (null: no answer). */
export type WebhookDelivery = { delivered: true; attempts: number; status: number } | { delivered: false; attempts: number; status: number | null; reason: string };

/**
 * POSTs each plan's desired capacity per region to the user's endpoint (their Kubernetes operator,
 * their cloud's autoscaling hook). 5xx, 408, 429, timeouts and connection errors are retried with
 * exponential back-off; any other 4xx is the receiver refusing the request and is not. Idempotent
 * by plan id and version: the `Idempotency-Key` header is `<planId>:<version>`, the same on every
 * retry. A newer version for the domain supersedes an older one still being retried.
 */
export class WebhookPoolDriver implements PoolDriver {
  private readonly latest = new Map<string, number>();

  constructor(
    private readonly options: WebhookOptions,
    private readonly logger: Logger,
  ) {}

  async apply(desired: DesiredCapacity): Promise<void> {
    const outcome = await this.deliver(desired);
    if (outcome.delivered) this.logger.info({ domain: desired.domain, version: desired.version, attempts: outcome.attempts }, 'capacity applied (webhook)');
    else this.logger.warn({ domain: desired.domain, version: desired.version, attempts: outcome.attempts, status: outcome.status, reason: outcome.reason }, 'capacity webhook failed');
  }

  async deliver(desired: DesiredCapacity): Promise<WebhookDelivery> {
    this.latest.set(desired.domain, Math.max(this.latest.get(desired.domain) ?? 0, desired.version));
    const body = JSON.stringify(desired);
    let status: number | null = null;
    let reason = '';
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      if ((this.latest.get(desired.domain) ?? 0) > desired.version) return { delivered: false, attempts: attempt - 1, status, reason: 'superseded by a newer plan' };
      try {
        const response = await fetch(this.options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [WebhookHeaders.idempotencyKey]: `${desired.planId}:${desired.version}`, [WebhookHeaders.planVersion]: String(desired.version) },
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        status = response.status;
        await response.arrayBuffer().catch(() => undefined); // drain, so the connection is reused
        if (response.ok) return { delivered: true, attempts: attempt, status };
        reason = `HTTP ${response.status}`;
        if (response.status < 500 && response.status !== 408 && response.status !== 429) return { delivered: false, attempts: attempt, status, reason };
      } catch (err) {
        status = null;
        reason = (err as Error).name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : (err as Error).message;
      }
      if (attempt < this.options.maxAttempts) await sleep(retryDelayMs(attempt, this.options.backoffMs));
    }
    return { delivered: false, attempts: this.options.maxAttempts, status, reason };
  }
}

/** Exponential back-off with up to 20 % jitter, so retries of many domains do not arrive together. */
export function retryDelayMs(attempt: number, baseMs: number): number {
  const delay = baseMs * 2 ** (attempt - 1);
  return delay + Math.random() * 0.2 * delay;
}
