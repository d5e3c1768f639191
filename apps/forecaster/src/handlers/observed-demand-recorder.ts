import { DemandObserved, DemandObservedEvent } from '@shardcast/contracts';
import { Logger } from '@shardcast/platform';
import { ForecasterStore } from '../persistence/forecaster-store';
import { ForecastScheduler } from '../forecasting/forecast-scheduler';

/** Where a bucket came from, for logs. */
export interface ObservedSource {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Records one observed bucket, from either topic (`demand.observed.v1`: one per event;
 * `.v2`: many per event), into the demand history and marks its series for a re-forecast. A
 * bucket carries its v1 event id either way (v2's buckets get the id v1 would have: the same
 * function of domain, region, bucket and revision), so the history is the same whichever topic fed it.
 */
export class ObservedDemandRecorder {
  constructor(
    private readonly store: ForecasterStore,
    private readonly scheduler: ForecastScheduler,
    private readonly logger: Logger,
  ) {}

  async record(bucket: DemandObserved, ids: { eventId: string; correlationId: string }, where: ObservedSource): Promise<void> {
    const event = { eventId: ids.eventId, payload: bucket } as Pick<DemandObservedEvent, 'eventId' | 'payload'>;
    const outcome = await this.store.recordObserved(event);
    if (outcome === 'recorded') {
      this.scheduler.markDirty({ domain: bucket.domain, region: bucket.region }, ids);
    } else if (outcome === 'rolled-up') {
      // Not silently: a revision of a day rolled up already (its hour keeps the total it had).
      this.logger.warn({ ...where, eventId: ids.eventId, domain: bucket.domain, region: bucket.region, bucketStart: bucket.bucketStart, revision: bucket.revision }, 'observed demand for a day already rolled up; not recorded');
    }
  }
}
