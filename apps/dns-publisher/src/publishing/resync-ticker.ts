import { DomainTicker, Logger } from '@shardcast/platform';
import { DnsStore } from '../persistence/dns-store';
import { DomainPublisher } from './domain-publisher';

/**
 * Brings every domain's zone back to what dns-publisher wants, on a schedule and once at start-up:
 * events only say what changed, so drift on the server (a record edited or deleted by hand, a
 * server restored from an old backup, a write a crash lost) is found only by comparing. A domain
 * in sync costs one read of its zone and changes nothing; only owned records are ever touched.
 */
export class ResyncTicker extends DomainTicker {
  constructor(
    store: DnsStore,
    publisher: DomainPublisher,
    logger: Logger,
    private readonly intervalMs: number,
  ) {
    super('resync', () => store.domains(), async (domain) => (await publisher.publish(domain, { layoutVersion: null, eventId: null })).plan.changes.length > 0, logger);
  }

  /** A pass now (start-up), then one every interval; nothing when the interval is 0. */
  begin(): void {
    if (this.intervalMs <= 0) return;
    void this.tick();
    this.start(this.intervalMs);
  }
}
