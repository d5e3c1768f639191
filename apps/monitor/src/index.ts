// The monitor service's public entry point: what code outside it (bench, scripts, e2e) may use.
// Everything else under apps/monitor is internal (.dependency-cruiser.cjs: outsiders-use-app-entry-points).
// The service itself runs from dist/src/main.js.
export { MonitorConfigSchema } from './monitor.config';
