// The dns-publisher service's public entry point: what code outside it (bench, scripts, e2e) may use.
// Everything else under apps/dns-publisher is internal (.dependency-cruiser.cjs: outsiders-use-app-entry-points).
// The service itself runs from dist/src/main.js.
export { DnsPublisherConfigSchema } from './dns-publisher.config';
