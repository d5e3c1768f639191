import { CandidateName } from './candidate-models';
import { QuantileForecast } from './conformal-calibration';

/** A distribution of demand per step for one (domain, region): the production path's output. */
export interface DemandForecast {
  /** Epoch ms of the first forecast step; step i is at `startMs + i * stepMs`. */
  startMs: number;
  stepMs: number;
  horizon: number;
  /** Demand per step (same unit as the input values), non-negative and monotone across levels. */
  quantiles: QuantileForecast;
  /** The model's own point forecast before calibration (p50 adds the median backtest residual). */
  point: Float64Array;
  /** The model that produced the point forecast (differs from `selectedModel` after a fallback); `pooled`: the tail tier's (forecast-tiers.ts). */
  model: CandidateName | 'naive' | 'prior' | 'pooled';
  selectedModel: CandidateName | 'naive' | 'prior' | 'pooled';
  /** Errors of the models tried before `model`, in order. */
  fallbackErrors: string[];
  mase: number | null;
  selectedAt: string | null;
  confidence: 'high' | 'low';
  /** The selected model proved worse than seasonal naive in backtest. Never set on a prior. */
  forecastOnly: boolean;
  /** The prior's share (0–1): 1 for a registration without data, 0 once a backtested model forecasts. */
  priorWeight: number;
}
