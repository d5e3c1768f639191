import { metrics, trace } from '@opentelemetry/api';
import { DEMAND_FORECAST, DemandForecastEvent, deterministicEventId } from '@shardcast/contracts';
import { defaultProfile, DomainProfile, forecast, learnProfile, ModelRunner, selectModel, toForecastPayload } from '@shardcast/forecasting';
import type { Logger, OutboxRelay } from '@shardcast/platform';
import { ForecasterConfig } from '../forecaster.config';
import { ForecasterStore, SeriesKey } from '../persistence/forecaster-store';

const DAY_MS = 86_400_000;
const tracer = trace.getTracer('shardcast-forecaster');
const meter = metrics.getMeter('shardcast-forecaster');
const forecastsCounter = meter.createCounter('forecaster.forecasts', { description: 'forecasts published, by model and confidence' });
const fitSeconds = meter.createHistogram('forecaster.forecast.duration', { unit: 's' });

export interface ForecastCause {
  eventId: string;
  correlationId: string;
}

/**
 * One series' forecast: read history, (re)select the model on schedule, run the production path,
 * attach resource needs, store it with its outbox event. The decisions are the lib's.
 */
export class ForecastRunner {
  constructor(
    private readonly store: ForecasterStore,
    private readonly models: ModelRunner,
    private readonly relay: OutboxRelay,
    private readonly config: ForecasterConfig,
    private readonly logger: Logger,
  ) {}

  async run(key: SeriesKey, cause: ForecastCause | null, now = new Date()): Promise<DemandForecastEvent | null> {
    return tracer.startActiveSpan('forecast.run', { attributes: { 'shardcast.domain': key.domain, 'shardcast.region': key.region } }, async (span) => {
      const started = performance.now();
      try {
        const latest = await this.store.latestBucketMs(key);
        if (latest === null) return null;
        const history = await this.store.history(key, latest - this.config.FORECAST_HISTORY_DAYS * DAY_MS);
        const profile = await this.profileOf(key.domain, history);
        const horizon = Math.round((this.config.FORECAST_HORIZON_HOURS * 3_600_000) / this.config.FORECAST_STEP_MS);
        let selection = await this.store.selection(key);
        if (!selection || selection.mase === null || now.getTime() - Date.parse(selection.selectedAt) > this.config.FORECAST_SELECTION_MAX_AGE_MS) {
          selection = await tracer.startActiveSpan('forecast.select', async (s) => {
            try {
              return await selectModel(history, { now, stepMs: this.config.FORECAST_STEP_MS, horizon, origins: this.config.FORECAST_SELECTION_ORIGINS }, this.models);
            } finally {
              s.end();
            }
          });
          await this.store.saveSelection(key, selection);
        }
        const result = await forecast(history, selection, this.models, {
          horizon,
          coldStart: { appType: profile.appType, tier: profile.tier, startMs: latest + this.config.FORECAST_STEP_MS },
        });
        const payload = toForecastPayload(key, result, selection, profile, now);
        const eventId = deterministicEventId(DEMAND_FORECAST, key.domain, key.region, payload.generatedAt, payload.steps[0]?.at ?? '');
        const event: DemandForecastEvent = {
          eventId,
          type: DEMAND_FORECAST,
          occurredAt: now.toISOString(),
          producedBy: 'forecaster',
          correlationId: cause?.correlationId ?? eventId,
          causationId: cause?.eventId ?? null,
          payload,
        };
        await this.store.saveForecast(event);
        this.relay.kick();
        forecastsCounter.add(1, { model: result.model, confidence: result.confidence });
        if (result.fallbackErrors.length) this.logger.warn({ ...key, errors: result.fallbackErrors }, 'model fell back');
        this.logger.info({ ...key, model: result.model, mase: result.mase, confidence: result.confidence, forecastOnly: result.forecastOnly, eventId }, 'forecast published');
        return event;
      } finally {
        fitSeconds.record((performance.now() - started) / 1000);
        span.end();
      }
    });
  }

  /** The registered profile, else the configured default, refined by observed bytes and latency. */
  private async profileOf(domain: string, observed: { requests: number; bytes: number; latencyMs: number }): Promise<DomainProfile> {
    const registered = await this.store.profile(domain);
    const base = registered ?? defaultProfile(this.config.FORECAST_DEFAULT_APP_TYPE, this.config.FORECAST_DEFAULT_TIER);
    return learnProfile(base, {
      requests: observed.requests,
      meanBytesOut: observed.requests > 0 ? observed.bytes / observed.requests : undefined,
      meanLatencyMs: observed.requests > 0 ? observed.latencyMs : undefined,
    });
  }
}
