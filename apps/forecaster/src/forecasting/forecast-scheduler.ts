import type { Logger } from '@shardcast/platform';
import { ForecasterStore, SeriesKey } from '../persistence/forecaster-store';
import { ForecastCause, ForecastRunner } from './forecast-runner';

/**
 * Re-forecasts a series a debounce interval after new buckets arrive (a burst of buckets makes one
 * forecast), and every series on a schedule. One series at a time per instance: the worker pool
 * already uses every core.
 */
export class ForecastScheduler {
  private readonly dirty = new Map<string, { key: SeriesKey; cause: ForecastCause | null }>();
  private debounce?: NodeJS.Timeout;
  private interval?: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly runner: ForecastRunner,
    private readonly store: ForecasterStore,
    private readonly debounceMs: number,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.interval = setInterval(() => void this.scheduledRefresh(), this.intervalMs);
    this.interval.unref();
  }

  /** The periodic re-forecast of every series, done by whichever instance claims the interval. */
  async scheduledRefresh(): Promise<boolean> {
    try {
      if (!(await this.store.claimSchedule('refresh-all', this.intervalMs))) return false;
      await this.refreshAll();
      return true;
    } catch (err) {
      this.logger.warn({ err }, 'scheduled refresh failed; will retry next interval');
      return false;
    }
  }

  markDirty(key: SeriesKey, cause: ForecastCause | null): void {
    if (this.stopped) return;
    this.dirty.set(`${key.domain}\u0000${key.region}`, { key, cause });
    this.debounce ??= setTimeout(() => {
      this.debounce = undefined;
      void this.drain();
    }, this.debounceMs);
  }

  async refreshAll(): Promise<void> {
    for (const key of await this.store.seriesKeys()) this.markDirty(key, null);
  }

  /** Forecasts everything marked so far, now; resolves when done (used by the API and tests). */
  async drain(): Promise<void> {
    while (this.running) await this.running;
    this.running = (async () => {
      while (this.dirty.size > 0 && !this.stopped) {
        const batch = [...this.dirty.values()];
        this.dirty.clear();
        for (const { key, cause } of batch) {
          if (this.stopped) return;
          try {
            await this.runner.run(key, cause);
          } catch (err) {
            // One bad series must not stop the others; it is retried on the next schedule.
            this.logger.error({ err, ...key }, 'forecast failed');
          }
        }
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = null;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.debounce);
    clearInterval(this.interval);
    await this.running;
  }
}
