import { CreateDnsState1764700000000 } from './1764700000000-create-dns-state';
import { CreatePlanRouting1764900000000 } from './1764900000000-create-plan-routing';

/** Listed explicitly: globs break under bundlers and hide ordering. */
export const dnsPublisherMigrations = [CreateDnsState1764700000000, CreatePlanRouting1764900000000];
