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
    /** The model that produced the point forecast (differs from `selectedModel` after a fallback). */
    model: CandidateName | 'naive' | 'cold-start';
    selectedModel: CandidateName | 'naive' | 'cold-start';
    /** Errors of the models tried before `model`, in order. */
    fallbackErrors: string[];
    mase: number | null;
    selectedAt: string | null;
    confidence: 'high' | 'low';
    forecastOnly: boolean;
}
