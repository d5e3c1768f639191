import { z } from 'zod';
import { PlatformConfigSchema } from '@shardcast/platform';

export const DnsPublisherConfigSchema = PlatformConfigSchema.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3005),
  DNS_PUBLISHER_DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lowercase SQL identifier').default('dns_publisher'),
});

export type DnsPublisherConfig = z.infer<typeof DnsPublisherConfigSchema>;
