import type { Logger } from './logger';

/**
 * Re-decides every live domain of a service on a schedule, without new events. One pass at a
 * time: a tick while a pass runs returns that pass. A domain that fails is logged and the pass
 * goes on; `stop` waits for the pass in progress. Instances may all tick: the services serialise
 * two decisions on one domain themselves (the allocator's ledger version, the assigner's revision).
 */
export class DomainTicker {
  private timer?: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    /** Names the ticker in logs ("allocation", "assignment"). */
    private readonly name: string,
    private readonly domains: () => Promise<string[]>,
    /** Re-decides one domain; true when that published something. */
    private readonly visit: (domain: string) => Promise<boolean>,
    private readonly logger: Logger,
    /** Housekeeping after each complete pass. */
    private readonly afterPass: () => Promise<void> = async () => undefined,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  /** One pass over every live domain; a pass still running makes this a no-op (returns it). */
  tick(): Promise<void> {
    if (this.running || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.pass()
      .catch((err) => this.logger.warn({ err }, `${this.name} tick failed; the next one retries`))
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
    const domains = await this.domains();
    for (const domain of domains) {
      if (this.stopped) return;
      try {
        if (await this.visit(domain)) published++;
      } catch (err) {
        this.logger.warn({ err, domain }, `${this.name} tick of a domain failed`);
      }
    }
    await this.afterPass();
    this.logger.debug({ domains: domains.length, published }, `${this.name} tick`);
  }
}
