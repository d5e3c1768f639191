import { DomainTicker, Logger } from '@shardcast/platform';
import { AssignmentStore } from '../persistence/assignment-store';
import { DomainAssigner } from './domain-assigner';

/**
 * Re-decides every live domain on a schedule, without new plans: warm-ups end (shards become
 * active), drains end (shards leave), challengers win after their dwell. A tick publishes only
 * when the layout changed; two instances ticking one domain are serialised by the store's revision.
 */
export class AssignmentTicker extends DomainTicker {
  constructor(store: AssignmentStore, assigner: DomainAssigner, logger: Logger) {
    super('assignment', () => store.liveDomains(), async (domain) => (await assigner.assign(domain, { kind: 'tick' }, null)) === 'published', logger);
  }
}
