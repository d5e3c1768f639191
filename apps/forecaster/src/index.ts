// The forecaster service's public entry point: what code outside it (bench, scripts, e2e) may use.
// Everything else under apps/forecaster is internal (.dependency-cruiser.cjs: outsiders-use-app-entry-points).
// The service itself runs from dist/src/main.js.
export { forecastConcurrency, ForecasterConfigSchema } from './forecaster.config';
export type { ForecasterConfig } from './forecaster.config';
// bench:forecast's production figure runs the service's own scheduler, runner and store.
export { ForecasterStore } from './persistence/forecaster-store';
export { forecasterMigrations } from './persistence/migrations';
export { observedDemandTables } from './persistence/observed-demand-tables';
export { ForecastRunner, POOLED_WRITER_GRACE_MS } from './forecasting/forecast-runner';
export { ForecastScheduler } from './forecasting/forecast-scheduler';
