import { DomainTicker, Logger } from '@shardcast/platform';
import { AllocationLedger } from '../persistence/allocation-ledger';
import { DomainAllocator } from './domain-allocator';

/** Processed-event records are kept this long: longer than a redelivery can come late (the topics' retention is 7 days). */
const PROCESSED_EVENTS_KEPT_MS = 8 * 24 * 3600 * 1000;

/**
 * Re-decides every active domain on a schedule, without new events: scale-in after its
 * stabilisation, a forecast running past its horizon (the reactive policy takes over), an
 * observation going stale. A tick publishes a plan only when something changed; two instances
 * ticking one domain are serialised by the ledger's version check. After each pass, old
 * processed-event records are pruned.
 */
export class AllocationTicker extends DomainTicker {
  constructor(ledger: AllocationLedger, allocator: DomainAllocator, logger: Logger) {
    super(
      'allocation',
      () => ledger.activeDomains(),
      async (domain) => (await allocator.allocate(domain, (atMs) => ({ kind: 'tick', atMs }), null)) === 'published',
      logger,
      async () => void (await ledger.pruneProcessed(PROCESSED_EVENTS_KEPT_MS)),
    );
  }
}
