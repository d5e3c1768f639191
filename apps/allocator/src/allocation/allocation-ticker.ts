import { Logger } from '@shardcast/platform';
import { AllocationLedger } from '../persistence/allocation-ledger';
import { DomainAllocator } from './domain-allocator';

/** Processed-event records are kept this long: longer than a redelivery can come late (the topics' retention is 7 days). */
const PROCESSED_EVENTS_KEPT_MS = 8 * 24 * 3600 * 1000;

/**
 * Re-decides every active domain on a schedule, without new events: scale-in after its
 * stabilisation, a forecast running past its horizon (the reactive policy takes over), an
 * observation going stale. A tick publishes a plan only when something changed. Each instance
 * ticks; two ticking the same domain are serialised by the ledger's version check.
 */
export class AllocationTicker {
  private timer?: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly ledger: AllocationLedger,
    private readonly allocator: DomainAllocator,
    private readonly logger: Logger,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  /** One pass over every active domain; a pass still running makes this a no-op (returns it). */
  tick(): Promise<void> {
    if (this.running || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.pass()
      .catch((err) => this.logger.warn({ err }, 'allocation tick failed; the next one retries'))
      .finally(() => (this.running = null));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async pass(): Promise<void> {
    let published = 0;
    const domains = await this.ledger.activeDomains();
    for (const domain of domains) {
      if (this.stopped) return;
      try {
        if ((await this.allocator.allocate(domain, (atMs) => ({ kind: 'tick', atMs }), null)) === 'published') published++;
      } catch (err) {
        this.logger.warn({ err, domain }, 'tick of a domain failed');
      }
    }
    await this.ledger.pruneProcessed(PROCESSED_EVENTS_KEPT_MS);
    this.logger.debug({ domains: domains.length, published }, 'allocation tick');
  }
}
