import { CreateDnsState1764700000000 } from './1764700000000-create-dns-state';

/** Listed explicitly: globs break under bundlers and hide ordering. */
export const dnsPublisherMigrations = [CreateDnsState1764700000000];
