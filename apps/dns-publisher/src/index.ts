// The dns-publisher service's public entry point: what code outside it (bench, scripts, e2e) may use.
// Everything else under apps/dns-publisher is internal (.dependency-cruiser.cjs: outsiders-use-app-entry-points).
// The service itself runs from dist/src/main.js.
export { DnsPublisherConfigSchema } from './dns-publisher.config';
// The providers, for bench:dns (it publishes through their real code).
export { DryRunProvider } from './providers/dns-provider';
export type { DnsProvider, ZonePlan } from './providers/dns-provider';
export { KnotProvider } from './providers/knot-provider';
export type { KnotOptions } from './providers/knot-provider';
export { PowerDnsApiError, PowerDnsProvider } from './providers/powerdns-provider';
export type { PowerDnsOptions } from './providers/powerdns-provider';
