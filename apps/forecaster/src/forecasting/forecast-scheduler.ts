import type { Logger } from '@shardcast/platform';
import { ForecasterStore, SeriesKey } from '../persistence/forecaster-store';
import { ForecastCause, ForecastReason, ForecastRunner } from './forecast-runner';

interface Dirty {
  key: SeriesKey;
  cause: ForecastCause | null;
  reason: ForecastReason;
}

/** A reason that must be published wins over `scheduled`. */
const stronger = (a: ForecastReason, b: ForecastReason): ForecastReason => (a === 'scheduled' ? b : a);

/**
 * Re-forecasts a series a debounce interval after new buckets arrive (a burst of buckets makes one
 * forecast), every series on a schedule, and a registration's series at once. Runs `concurrency`
 * series at a time (default twice the worker pool: one fits while the next reads its history), so
 * the pool's workers are all busy.
 */
export class ForecastScheduler {
  private readonly dirty = new Map<string, Dirty>();
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
    private readonly concurrency = 2,
    /** Pooled series the first pass ever learns from before it forecasts (refreshAll). */
    private readonly pooledSample = 300,
    /** Pooled-tier series read and written per query. */
    private readonly pooledBatch = 200,
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

  markDirty(key: SeriesKey, cause: ForecastCause | null, reason: ForecastReason = 'scheduled'): void {
    if (this.stopped) return;
    const id = `${key.domain}\u0000${key.region}`;
    const before = this.dirty.get(id);
    this.dirty.set(id, { key, cause: cause ?? before?.cause ?? null, reason: before ? stronger(before.reason, reason) : reason });
    this.debounce ??= setTimeout(() => {
      this.debounce = undefined;
      void this.drain();
    }, this.debounceMs);
  }

  /**
   * Every series, in the tiers of its current volume (ForecastRunner.assignTiers). The first pass
   * ever learns the pooled tier's shapes and calibration from a sample of its series first
   * (`pooledSample`), so even its pooled forecasts are calibrated; later passes learn from the
   * pass before.
   */
  async refreshAll(): Promise<void> {
    const keys = await this.store.seriesKeys();
    const tiers = await this.runner.assignTiers(keys);
    if (!this.runner.pooledLearnt && tiers.pooled > 0) {
      const pooled = keys.filter((k) => this.runner.tierOf(k) === 'pooled');
      const every = Math.max(1, Math.floor(pooled.length / this.pooledSample));
      await this.runner.learnPooled(pooled.filter((_, i) => i % every === 0).slice(0, this.pooledSample));
    }
    // The full tier one series at a time (its models run on the workers) while the pooled tier
    // runs in batches on this thread and PostgreSQL; a pooled series that needs the per-series
    // path (too little history) joins the first.
    const pooled = keys.filter((k) => this.runner.tierOf(k) === 'pooled');
    for (const key of keys) if (this.runner.tierOf(key) !== 'pooled') this.markDirty(key, null);
    const [, rest] = await Promise.all([this.drain(), this.pooledBatches(pooled)]);
    for (const key of rest) this.markDirty(key, null);
    await this.drain();
    await this.runner.finishPass();
  }

  /** Pooled-tier series in batches of `pooledBatch`, `concurrency / 4` batches at a time (at least one); returns those left to the per-series path. */
  private async pooledBatches(keys: readonly SeriesKey[]): Promise<SeriesKey[]> {
    const rest: SeriesKey[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < keys.length && !this.stopped) {
        const batch = keys.slice(next, (next += this.pooledBatch));
        try {
          rest.push(...(await this.runner.runPooledBatch(batch)));
        } catch (err) {
          // As for one series: the batch is retried on the next schedule, the others go on.
          this.logger.error({ err, series: batch.length, first: batch[0] }, 'pooled forecast batch failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.floor(this.concurrency / 4)) }, lane));
    return rest;
  }

  /** Forecasts everything marked so far, now, `concurrency` at a time; resolves when done (the API, registrations, tests). */
  async drain(): Promise<void> {
    while (this.running) await this.running;
    this.running = (async () => {
      while (this.dirty.size > 0 && !this.stopped) {
        const batch = [...this.dirty.values()];
        this.dirty.clear();
        let next = 0;
        const lane = async (): Promise<void> => {
          while (next < batch.length && !this.stopped) {
            const { key, cause, reason } = batch[next++];
            try {
              await this.runner.run(key, cause, reason);
            } catch (err) {
              // One bad series must not stop the others; it is retried on the next schedule.
              this.logger.error({ err, ...key }, 'forecast failed');
            }
          }
        };
        await Promise.all(Array.from({ length: Math.max(1, this.concurrency) }, lane));
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
