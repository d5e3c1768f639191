import type { Logger } from './logger';
import { HistoryPartitionStore, runHistoryJob } from './history-partitions';
import { checkRetention, HistoryRetention } from './history-plan';

/**
 * Runs a history's job at start and then every `intervalMs`, inside the service that owns the
 * history; instances take turns by the store's lock, so two instances never run it at once.
 */
export class HistoryJob {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly store: HistoryPartitionStore,
    private readonly retention: HistoryRetention,
    private readonly logger: Pick<Logger, 'info' | 'warn'>,
    private readonly history: string,
  ) {
    checkRetention(retention);
  }

  /** One run now (also what the schedule calls); failures are logged and retried on the next tick. */
  async runOnce(nowMs = Date.now()): Promise<void> {
    try {
      const report = await runHistoryJob(this.store, this.retention, nowMs);
      if (report.skipped) return this.logger.info({ history: this.history }, 'history job skipped: another instance is running it');
      const days = (list: number[]) => list.map((d) => new Date(d).toISOString().slice(0, 10));
      this.logger.info(
        {
          history: this.history,
          referenceDay: days([report.referenceDay])[0],
          created: days(report.create),
          rolledUp: days([...report.finishRollUps, ...report.rollUp]),
          dropped: days([...report.dropMinute, ...report.dropDetached, ...report.dropHourly]),
        },
        'history job ran',
      );
    } catch (err) {
      this.logger.warn({ err, history: this.history }, 'history job failed; will retry on the next run');
    }
  }

  /** Runs now, then every `intervalMs` (a run still going when the next is due is not doubled). */
  start(intervalMs: number): void {
    const tick = () => {
      this.running ??= this.runOnce().finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
