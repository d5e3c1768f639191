import { classifyFailure, ClassifiedFailure } from './failure-classification';

export interface RetryPolicy {
  /** Attempts at one message before an unprocessable one is dead-lettered (and a transient one handed back for redelivery). */
  maxAttempts: number;
  /** Back-off before attempt n+1, in ms. */
  backoffMs: (attempt: number) => number;
  /** A partition on one offset for this many attempts is reported stuck (log and metric). */
  stuckAfter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  backoffMs: (attempt) => Math.min(2_000, 100 * 2 ** (attempt - 1)),
  stuckAfter: 5,
};

/** Where a message sits: one partition of one topic, one offset. */
export interface MessagePosition {
  topic: string;
  partition: number;
  offset: string;
}

export type RetryOutcome = { outcome: 'done' } | { outcome: 'unprocessable'; failure: ClassifiedFailure; attempts: number };

/** What a consumer reports while it retries; the gate turns it into logs, metrics and readiness. */
export interface RetryObserver {
  failed(position: MessagePosition, failure: ClassifiedFailure, attempts: number): void;
  stuck(position: MessagePosition, failure: ClassifiedFailure, attempts: number): void;
  recovered(position: MessagePosition, attempts: number): void;
}

/**
 * Runs a message's processing under the failure policy, counting attempts per partition and
 * offset across redeliveries (a transient failure is thrown back so the transport redelivers the
 * same offset; the count goes on). An unprocessable message comes back as `unprocessable` after
 * `maxAttempts`, for the caller to dead-letter; a transient one is never given up on.
 */
export class MessageRetries {
  private readonly attempts = new Map<string, { offset: string; attempts: number; failure?: ClassifiedFailure; failedAt?: number }>();

  constructor(
    private readonly observer: RetryObserver,
    private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /**
   * Partitions whose current message has failed and not yet succeeded or been dead-lettered. A
   * failure older than `recentMs` is left out: the partition may have moved to another member.
   */
  failing(now = Date.now(), recentMs = 60_000): Array<MessagePosition & { attempts: number; reason: string }> {
    return [...this.attempts].flatMap(([key, state]) => {
      if (!state.failure || now - (state.failedAt ?? 0) > recentMs) return [];
      const [topic, partition] = splitKey(key);
      return [{ topic, partition, offset: state.offset, attempts: state.attempts, reason: state.failure.reason }];
    });
  }

  stuckCount(): number {
    return [...this.attempts.values()].filter((s) => s.failure && s.attempts >= this.policy.stuckAfter).length;
  }

  async run(position: MessagePosition, process: () => Promise<void>): Promise<RetryOutcome> {
    const key = `${position.partition}:${position.topic}`;
    let state = this.attempts.get(key);
    if (!state || state.offset !== position.offset) {
      state = { offset: position.offset, attempts: 0 };
      this.attempts.set(key, state);
    }
    for (let tries = 1; ; tries++) {
      state.attempts++;
      try {
        await process();
        if (state.failure) this.observer.recovered(position, state.attempts);
        this.attempts.delete(key);
        return { outcome: 'done' };
      } catch (err) {
        const failure = classifyFailure(err);
        state.failure = failure;
        state.failedAt = Date.now();
        this.observer.failed(position, failure, state.attempts);
        if (state.attempts === this.policy.stuckAfter || (state.attempts > this.policy.stuckAfter && state.attempts % 10 === 0)) this.observer.stuck(position, failure, state.attempts);
        if (failure.kind === 'unprocessable' && state.attempts >= this.policy.maxAttempts) {
          this.attempts.delete(key);
          return { outcome: 'unprocessable', failure, attempts: state.attempts };
        }
        // A transient failure goes back to the transport after a few tries: it redelivers the same
        // offset (nothing is committed), and a long outage does not hold the consumer's session.
        if (failure.kind === 'transient' && tries >= this.policy.maxAttempts) throw err;
        await this.sleep(this.policy.backoffMs(state.attempts));
      }
    }
  }
}

function splitKey(key: string): [string, number] {
  const at = key.indexOf(':');
  return [key.slice(at + 1), Number(key.slice(0, at))];
}
