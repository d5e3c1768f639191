import { Logger } from '@shardcast/platform';
import { LayoutCache } from '../cache/layout-cache';
import { AssignmentStore } from '../persistence/assignment-store';
import { DomainAssigner } from './domain-assigner';

/**
 * Re-decides every live domain on a schedule, without new plans: warm-ups end (shards become
 * active), drains end (shards leave), challengers win after their dwell. A tick publishes only
 * when the layout changed. Each instance ticks; two ticking one domain are serialised by the
 * store's revision.
 */
export class AssignmentTicker {
  private timer?: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly store: AssignmentStore,
    private readonly assigner: DomainAssigner,
    private readonly logger: Logger,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  /** One pass over every live domain; a pass still running makes this a no-op (returns it). */
  tick(): Promise<void> {
    if (this.running || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.pass()
      .catch((err) => this.logger.warn({ err }, 'assignment tick failed; the next one retries'))
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
    const domains = await this.store.liveDomains();
    for (const domain of domains) {
      if (this.stopped) return;
      try {
        if ((await this.assigner.assign(domain, { kind: 'tick' }, null)) === 'published') published++;
      } catch (err) {
        this.logger.warn({ err, domain }, 'tick of a domain failed');
      }
    }
    this.logger.debug({ domains: domains.length, published }, 'assignment tick');
  }
}

/** Puts every domain's latest layout from PostgreSQL into Redis (where Redis holds an older one, or none). */
export async function rebuildLayoutCache(store: AssignmentStore, cache: LayoutCache, logger: Logger): Promise<void> {
  let seen = 0;
  let written = 0;
  for await (const page of store.latestLayouts()) {
    for (const layout of page) {
      seen++;
      if (await cache.put(layout)) written++;
    }
  }
  logger.info({ layouts: seen, written }, 'layout cache rebuilt from PostgreSQL');
}
