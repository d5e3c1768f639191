/**
 * @shardcast/forecasting: demand forecasting and the resource model (pure; models run in worker
 * threads behind `ModelRunner`). Scheduled job: `selectModel`. Production path: `forecast`, then
 * `toForecastPayload`. New domains: `priorForecast`. See README.md.
 */
export { inferStepMs, regularize, onGrid, fillGaps, seriesBefore, MINUTE_MS, HOUR_MS, DAY_MS, WEEK_MS } from './series';
export type { DemandSeries, RegularSeries, Aggregation } from './series';
export { seasonPeriods, scalePeriod } from './season-periods';
export type { SeasonPeriods } from './season-periods';
export { mase, naiveScale, meanAbsoluteError, pinballLoss, intervalCoverage, quantileCoverage, wape } from './accuracy';
export { ModelFitError } from './model-task';
export type { ModelTask, ModelKind, ModelRunner } from './model-task';
export { BaseModels, Ensembles, DefaultCandidates, forecastCandidates } from './candidate-models';
export type { BaseModelName, EnsembleName, CandidateName, ModelResolution } from './candidate-models';
export { backtest, rollingOrigins } from './backtest';
export type { BacktestOptions, BacktestResult, CandidateBacktest } from './backtest';
export { QuantileKeys, QuantileLevel, calibrate, applyCalibration, conformalQuantile, WideRelativeCalibration } from './conformal-calibration';
export type { QuantileKey, QuantileForecast, Calibration } from './conformal-calibration';
export { selectModel, prepareSeries, worseThanSeasonalNaive, withProactiveGate } from './select-model';
export { denseSeriesOfBuckets } from './stored-buckets';
export type { StoredBucket } from './stored-buckets';
export type { ModelSelection, ProactiveGateVerdict, SelectionOptions, SeriesOptions, PreparedSeries } from './select-model';
export { forecast } from './forecast';
export type { DemandForecast, ForecastOptions } from './forecast';
export { ForecastWorkerPool, defaultWorkerPath } from './forecast-worker-pool';
export type { ForecastWorkerPoolOptions } from './forecast-worker-pool';
export { priorForecast, dailyShapeOf, combineDailyShapes, PriorShapes, DefaultMarkets, PRIOR_HALF_WEIGHT_HOURS } from './prior';
export { registrationPrior } from './prior';
export { peakHourlyRate, coldStartOrigins, wallClockToUtc } from './cold-start';
export type { PriorInput, DailyShape } from './prior';
export { AppTypes, Tiers, DefaultRequestCost, defaultProfile, learnProfile, requestCostOf } from './domain-profile';
export type { AppType, Tier, RequestCost, DomainProfile, ObservedRequestStats } from './domain-profile';
export { toForecastPayload, forecastMoved, forecastUnit, MAX_FORECAST_COUNT } from './forecast-payload';
export { assignTiers, pooledShapeOf, pooledPoint, pooledHoldout, pooledCalibrations, pooledCalibrationOf, pooledForecast, pooledFloor, volumeBand, PooledTierLearner, PooledVolumeBands, DEFAULT_SHAPE_STRENGTH, DEFAULT_LEVEL_DAYS } from './forecast-tiers';
export type { ForecastTier, TierAssignmentOptions, PooledForecastOptions, PooledHoldout, PooledCalibrations, PooledTierState } from './forecast-tiers';
