import { metrics, trace } from '@opentelemetry/api';
import { DEMAND_FORECAST, DemandForecast, DemandForecastEvent, deterministicEventId, DomainRegistration, ForecastReasons } from '@shardcast/contracts';
import {
  combineDailyShapes,
  DailyShape,
  dailyShapeOf,
  defaultProfile,
  DomainProfile,
  forecast,
  forecastMoved,
  learnProfile,
  ModelRunner,
  prepareSeries,
  priorForecast,
  PriorInput,
  registrationPrior,
  selectModel,
  toForecastPayload,
} from '@shardcast/forecasting';
import type { MarketMap } from '@shardcast/geo';
import type { Logger, OutboxRelay } from '@shardcast/platform';
import { ForecasterConfig } from '../forecaster.config';
import { ForecasterStore, SeriesKey } from '../persistence/forecaster-store';

const DAY_MS = 86_400_000;
const tracer = trace.getTracer('shardcast-forecaster');
const meter = metrics.getMeter('shardcast-forecaster');
const forecastsCounter = meter.createCounter('forecaster.forecasts', { description: 'forecasts made, by model, confidence and whether they were published' });
const fitSeconds = meter.createHistogram('forecaster.forecast.duration', { unit: 's' });

export type ForecastReason = (typeof ForecastReasons)[number];

export interface ForecastCause {
  eventId: string;
  correlationId: string;
}

/**
 * One series' forecast: read history, (re)select the model on schedule, run the production path
 * (the registration's prior, moved towards the data, until a backtest selects a model), store it
 * with its outbox event when it moved or is due. The decisions are the lib's.
 */
export class ForecastRunner {
  constructor(
    private readonly store: ForecasterStore,
    private readonly models: ModelRunner,
    private readonly relay: OutboxRelay,
    private readonly markets: MarketMap,
    private readonly config: ForecasterConfig,
    private readonly logger: Logger,
  ) {}

  /** Forecasts a series; publishes when `reason` is not `scheduled`, when it moved, or when the last one is due. Returns the published event. */
  async run(key: SeriesKey, cause: ForecastCause | null, reason: ForecastReason = 'scheduled', now = new Date()): Promise<DemandForecastEvent | null> {
    return tracer.startActiveSpan('forecast.run', { attributes: { 'shardcast.domain': key.domain, 'shardcast.region': key.region } }, async (span) => {
      const started = performance.now();
      try {
        const state = await this.store.seriesState(key);
        const { registration, latestBucketMs: latest, share } = state;
        if (state.deregistered || (latest === null && share === null)) return null;
        const stepMs = this.config.FORECAST_STEP_MS;
        const horizon = Math.round((this.config.FORECAST_HORIZON_HOURS * 3_600_000) / stepMs);
        const base = state.profile ?? defaultProfile(this.config.FORECAST_DEFAULT_APP_TYPE, this.config.FORECAST_DEFAULT_TIER);
        const [history, borrowed] = await Promise.all([
          latest === null ? null : this.store.history(key, latest - this.config.FORECAST_HISTORY_DAYS * DAY_MS),
          this.store.borrowableShapes(key, base.appType),
        ]);
        const profile = learnedProfile(base, history ?? { requests: 0, bytes: 0, latencyMs: 0 });
        const prior = this.priorOf(key, registration, profile, share, borrowed);
        const nowStep = Math.ceil(now.getTime() / stepMs) * stepMs;

        let selection = history ? state.selection : null;
        let result;
        let dailyShape: { appType: string; shape: DailyShape; days: number } | undefined;
        if (!history) {
          result = priorForecast(prior, { startMs: nowStep, stepMs, horizon });
        } else {
          if (!selection || selection.mase === null || now.getTime() - Date.parse(selection.selectedAt) > this.config.FORECAST_SELECTION_MAX_AGE_MS) {
            const fresh = await tracer.startActiveSpan('forecast.select', async (s) => {
              try {
                return await selectModel(history, { now, stepMs, horizon, origins: this.config.FORECAST_SELECTION_ORIGINS }, this.models);
              } finally {
                s.end();
              }
            });
            await this.store.saveSelection(key, fresh);
            selection = fresh;
          }
          result = await forecast(history, selection, this.models, { horizon, prior: { ...prior, startMs: latest! + stepMs } });
          const own = dailyShapeOf(prepareSeries(history, { stepMs }).grid, prior.utcOffsetHours);
          if (own) dailyShape = { appType: profile.appType, ...own };
        }
        const payload = toForecastPayload(key, result, selection, profile, now, reason);
        const last = state.lastPublished;
        const due = !last || now.getTime() - last.publishedAt >= this.config.FORECAST_PUBLISH_MAX_AGE_MS;
        const publish = reason !== 'scheduled' || due || forecastMoved(last.payload, payload, this.config.FORECAST_PUBLISH_THRESHOLD);
        forecastsCounter.add(1, { model: result.model, confidence: result.confidence, published: publish });
        if (!publish) {
          await this.store.saveForecastRun(key, { dailyShape });
          return null;
        }
        if (reason === 'scheduled' && !due) payload.reason = 'moved';
        const event = this.envelope(payload, cause, now);
        await this.store.saveForecastRun(key, { dailyShape, event });
        // A scheduled refresh leaves its events to the relay's next poll (≤ 1 s): one poll per
        // page of events, not two relay transactions per series; anything asked for goes now.
        if (reason !== 'scheduled') this.relay.kick();
        if (result.fallbackErrors.length) this.logger.warn({ ...key, errors: result.fallbackErrors }, 'model fell back');
        this.logger.info({ ...key, model: result.model, mase: result.mase, confidence: result.confidence, priorWeight: payload.priorWeight, reason: payload.reason, eventId: event.eventId }, 'forecast published');
        return event;
      } finally {
        fitSeconds.record((performance.now() - started) / 1000);
        span.end();
      }
    });
  }

  private envelope(payload: DemandForecast, cause: ForecastCause | null, now: Date): DemandForecastEvent & { payload: DemandForecast } {
    const eventId = deterministicEventId(DEMAND_FORECAST, payload.domain, payload.region, payload.generatedAt, payload.startAt);
    return { eventId, type: DEMAND_FORECAST, occurredAt: now.toISOString(), producedBy: 'forecaster', correlationId: cause?.correlationId ?? eventId, causationId: cause?.eventId ?? null, payload };
  }

  /** The prior of a series (`registrationPrior`): the registration's peak × the region's share (an unregistered domain: none, the data's level), local time, borrowed shapes. */
  private priorOf(key: SeriesKey, registration: DomainRegistration | null, profile: DomainProfile, share: number | null, borrowed: Array<{ shape: DailyShape; days: number }>): PriorInput {
    return registrationPrior({ registration, share, appType: profile.appType, utcOffsetHours: this.markets.utcOffsetHours(key.region), borrowed: combineDailyShapes(borrowed) });
  }
}

/** The registered profile (else the configured default), refined by observed bytes and latency. */
function learnedProfile(base: DomainProfile, observed: { requests: number; bytes: number; latencyMs: number }): DomainProfile {
  return learnProfile(base, {
    requests: observed.requests,
    meanBytesOut: observed.requests > 0 ? observed.bytes / observed.requests : undefined,
    meanLatencyMs: observed.requests > 0 ? observed.latencyMs : undefined,
  });
}
