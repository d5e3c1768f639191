"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.resourcesForRate = exports.resourceNeeds = exports.learnProfile = exports.defaultProfile = exports.TierPolicy = exports.DefaultRequestCost = exports.Tiers = exports.AppTypes = exports.ColdStartPrior = exports.coldStartForecast = exports.defaultWorkerPath = exports.ForecastWorkerPool = exports.forecast = exports.prepareSeries = exports.selectModel = exports.WideRelativeCalibration = exports.conformalQuantile = exports.applyCalibration = exports.calibrate = exports.QuantileLevel = exports.QuantileKeys = exports.rollingOrigins = exports.backtest = exports.forecastCandidates = exports.DefaultCandidates = exports.Ensembles = exports.BaseModels = exports.ModelFitError = exports.intervalCoverage = exports.pinballLoss = exports.meanAbsoluteError = exports.naiveScale = exports.mase = exports.scalePeriod = exports.seasonPeriods = exports.WEEK_MS = exports.DAY_MS = exports.HOUR_MS = exports.MINUTE_MS = exports.fillGaps = exports.regularize = exports.inferStepMs = void 0;
/**
 * @shardcast/forecasting: demand forecasting and the resource model (pure; models run in worker
 * threads behind `ModelRunner`). Scheduled job: `selectModel`. Production path: `forecast`, then
 * `resourceNeeds`. New domains: `coldStartForecast`. See README.md.
 */
var series_1 = require("./series");
Object.defineProperty(exports, "inferStepMs", { enumerable: true, get: function () { return series_1.inferStepMs; } });
Object.defineProperty(exports, "regularize", { enumerable: true, get: function () { return series_1.regularize; } });
Object.defineProperty(exports, "fillGaps", { enumerable: true, get: function () { return series_1.fillGaps; } });
Object.defineProperty(exports, "MINUTE_MS", { enumerable: true, get: function () { return series_1.MINUTE_MS; } });
Object.defineProperty(exports, "HOUR_MS", { enumerable: true, get: function () { return series_1.HOUR_MS; } });
Object.defineProperty(exports, "DAY_MS", { enumerable: true, get: function () { return series_1.DAY_MS; } });
Object.defineProperty(exports, "WEEK_MS", { enumerable: true, get: function () { return series_1.WEEK_MS; } });
var season_periods_1 = require("./season-periods");
Object.defineProperty(exports, "seasonPeriods", { enumerable: true, get: function () { return season_periods_1.seasonPeriods; } });
Object.defineProperty(exports, "scalePeriod", { enumerable: true, get: function () { return season_periods_1.scalePeriod; } });
var accuracy_1 = require("./accuracy");
Object.defineProperty(exports, "mase", { enumerable: true, get: function () { return accuracy_1.mase; } });
Object.defineProperty(exports, "naiveScale", { enumerable: true, get: function () { return accuracy_1.naiveScale; } });
Object.defineProperty(exports, "meanAbsoluteError", { enumerable: true, get: function () { return accuracy_1.meanAbsoluteError; } });
Object.defineProperty(exports, "pinballLoss", { enumerable: true, get: function () { return accuracy_1.pinballLoss; } });
Object.defineProperty(exports, "intervalCoverage", { enumerable: true, get: function () { return accuracy_1.intervalCoverage; } });
var model_task_1 = require("./model-task");
Object.defineProperty(exports, "ModelFitError", { enumerable: true, get: function () { return model_task_1.ModelFitError; } });
var candidate_models_1 = require("./candidate-models");
Object.defineProperty(exports, "BaseModels", { enumerable: true, get: function () { return candidate_models_1.BaseModels; } });
Object.defineProperty(exports, "Ensembles", { enumerable: true, get: function () { return candidate_models_1.Ensembles; } });
Object.defineProperty(exports, "DefaultCandidates", { enumerable: true, get: function () { return candidate_models_1.DefaultCandidates; } });
Object.defineProperty(exports, "forecastCandidates", { enumerable: true, get: function () { return candidate_models_1.forecastCandidates; } });
var backtest_1 = require("./backtest");
Object.defineProperty(exports, "backtest", { enumerable: true, get: function () { return backtest_1.backtest; } });
Object.defineProperty(exports, "rollingOrigins", { enumerable: true, get: function () { return backtest_1.rollingOrigins; } });
var conformal_calibration_1 = require("./conformal-calibration");
Object.defineProperty(exports, "QuantileKeys", { enumerable: true, get: function () { return conformal_calibration_1.QuantileKeys; } });
Object.defineProperty(exports, "QuantileLevel", { enumerable: true, get: function () { return conformal_calibration_1.QuantileLevel; } });
Object.defineProperty(exports, "calibrate", { enumerable: true, get: function () { return conformal_calibration_1.calibrate; } });
Object.defineProperty(exports, "applyCalibration", { enumerable: true, get: function () { return conformal_calibration_1.applyCalibration; } });
Object.defineProperty(exports, "conformalQuantile", { enumerable: true, get: function () { return conformal_calibration_1.conformalQuantile; } });
Object.defineProperty(exports, "WideRelativeCalibration", { enumerable: true, get: function () { return conformal_calibration_1.WideRelativeCalibration; } });
var select_model_1 = require("./select-model");
Object.defineProperty(exports, "selectModel", { enumerable: true, get: function () { return select_model_1.selectModel; } });
Object.defineProperty(exports, "prepareSeries", { enumerable: true, get: function () { return select_model_1.prepareSeries; } });
var forecast_1 = require("./forecast");
Object.defineProperty(exports, "forecast", { enumerable: true, get: function () { return forecast_1.forecast; } });
var forecast_worker_pool_1 = require("./forecast-worker-pool");
Object.defineProperty(exports, "ForecastWorkerPool", { enumerable: true, get: function () { return forecast_worker_pool_1.ForecastWorkerPool; } });
Object.defineProperty(exports, "defaultWorkerPath", { enumerable: true, get: function () { return forecast_worker_pool_1.defaultWorkerPath; } });
var cold_start_1 = require("./cold-start");
Object.defineProperty(exports, "coldStartForecast", { enumerable: true, get: function () { return cold_start_1.coldStartForecast; } });
Object.defineProperty(exports, "ColdStartPrior", { enumerable: true, get: function () { return cold_start_1.ColdStartPrior; } });
var domain_profile_1 = require("./domain-profile");
Object.defineProperty(exports, "AppTypes", { enumerable: true, get: function () { return domain_profile_1.AppTypes; } });
Object.defineProperty(exports, "Tiers", { enumerable: true, get: function () { return domain_profile_1.Tiers; } });
Object.defineProperty(exports, "DefaultRequestCost", { enumerable: true, get: function () { return domain_profile_1.DefaultRequestCost; } });
Object.defineProperty(exports, "TierPolicy", { enumerable: true, get: function () { return domain_profile_1.TierPolicy; } });
Object.defineProperty(exports, "defaultProfile", { enumerable: true, get: function () { return domain_profile_1.defaultProfile; } });
Object.defineProperty(exports, "learnProfile", { enumerable: true, get: function () { return domain_profile_1.learnProfile; } });
var resource_needs_1 = require("./resource-needs");
Object.defineProperty(exports, "resourceNeeds", { enumerable: true, get: function () { return resource_needs_1.resourceNeeds; } });
Object.defineProperty(exports, "resourcesForRate", { enumerable: true, get: function () { return resource_needs_1.resourcesForRate; } });
//# sourceMappingURL=index.js.map