import { metrics, trace } from '@opentelemetry/api';
import { DEMAND_FORECAST, DemandForecast, DemandForecastEvent, deterministicEventId, DomainRegistration, ForecastReasons, Topics } from '@shardcast/contracts';
import {
  assignTiers,
  combineDailyShapes,
  DailyShape,
  dailyShapeOf,
  DemandSeries,
  defaultProfile,
  DemandForecast as DemandForecastResult,
  DomainProfile,
  forecast,
  forecastMoved,
  ForecastTier,
  learnProfile,
  ModelRunner,
  ModelSelection,
  onGrid,
  pooledForecast,
  PooledTierLearner,
  PooledTierState,
  prepareSeries,
  priorForecast,
  PriorInput,
  PriorShapes,
  RegularSeries,
  registrationPrior,
  requestCostOf,
  selectModel,
  withProactiveGate,
  worseThanSeasonalNaive,
  seriesBefore,
  toForecastPayload,
} from '@shardcast/forecasting';
import { proactiveGate, simulatedTraceOf } from '@shardcast/allocation';
import type { MarketMap } from '@shardcast/geo';
import type { Logger, OutboxRelay } from '@shardcast/platform';
import { ForecasterConfig } from '../forecaster.config';
import { ForecasterStore, ForecastRunWrites, SeriesKey, SeriesState } from '../persistence/forecaster-store';

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

/** How long the outbox poll leaves a pooled batch's rows to the batch, which sends them itself (OutboxRelay writerGraceMs). */
export const POOLED_WRITER_GRACE_MS = 2_000;

/** A series' id in tier maps. */
export const seriesId = (key: SeriesKey): string => `${key.domain}\u0000${key.region}`;

/**
 * One series' forecast: read history, (re)select the model on schedule, run the production path
 * (the registration's prior, moved towards the data, until a backtest selects a model), store it
 * with its outbox event when it moved or is due. The decisions are the lib's.
 *
 * Tiers (docs/decisions/0032-forecast-tiers.md): only the FORECAST_FULL_TIER_SERIES heaviest
 * series take that path; the others take the pooled tier's (`pooledForecast`: a level × a daily
 * shape shared by their application type, calibrated per volume band), which this runner learns
 * from the pooled series of each pass (`PooledTierLearner`) for the next one.
 */
export class ForecastRunner {
  /** The last assignment (assignTiers), and series first seen since: full while the full tier has room. */
  private tiers = new Map<string, ForecastTier>();
  private fullCount = 0;
  private assigned: Promise<unknown> | null = null;
  private pooled: PooledTierState | null = null;
  private pooledLoaded = false;
  private learner = new PooledTierLearner();
  /** Proactive-gate replays run since the current pass began (at most FORECAST_GATES_PER_PASS). */
  private gatesThisPass = 0;

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
        const tier = await this.tierFor(key);
        const nowStep = Math.ceil(now.getTime() / stepMs) * stepMs;
        if (tier === 'pooled' && latest !== null) {
          const pooled = await this.pooledRun(key, state, base, stepMs, horizon, now);
          if (pooled) return await this.publish(key, state, pooled.result, null, pooled.profile, { dailyShape: pooled.dailyShape, tier: { tier, volume: pooled.volume } }, cause, reason, now);
        }
        const [history, borrowed] = await Promise.all([
          latest === null ? null : this.store.history(key, latest - this.config.FORECAST_HISTORY_DAYS * DAY_MS),
          this.store.borrowableShapes(key, base.appType),
        ]);
        const profile = learnedProfile(base, history ?? { requests: 0, bytes: 0, latencyMs: 0 });
        const prior = this.priorOf(key, registration, profile, share, borrowed);

        let selection = history ? state.selection : null;
        let result;
        let dailyShape: { appType: string; shape: DailyShape; days: number } | undefined;
        let volume = 0;
        if (!history) {
          result = priorForecast(prior, { startMs: nowStep, stepMs, horizon });
        } else {
          if (!selection || selection.mase === null || now.getTime() - Date.parse(selection.selectedAt) > this.config.FORECAST_SELECTION_MAX_AGE_MS) {
            let fresh = await tracer.startActiveSpan('forecast.select', async (s) => {
              try {
                return await selectModel(history, { now, stepMs, horizon, origins: this.config.FORECAST_SELECTION_ORIGINS }, this.models);
              } finally {
                s.end();
              }
            });
            // The previous verdict stands until this selection's own replay is stored (decision 0034).
            if (selection?.gate) fresh = withProactiveGate(fresh, selection.gate);
            await this.store.saveSelection(key, fresh);
            selection = fresh;
          }
          const grid = prepareSeries(history, { stepMs }).grid;
          if (this.gateDue(selection, grid)) {
            this.gatesThisPass++;
            selection = await this.gated(key, history, grid, selection, profile, horizon);
            await this.store.saveSelection(key, selection);
          }
          result = await forecast(history, selection, this.models, { horizon, prior: { ...prior, startMs: latest! + stepMs } });
          const own = dailyShapeOf(grid, prior.utcOffsetHours);
          if (own) dailyShape = { appType: profile.appType, ...own };
          volume = lastDayVolume(grid);
        }
        return await this.publish(key, state, result, selection, profile, { dailyShape, tier: history ? { tier, volume } : undefined }, cause, reason, now);
      } finally {
        fitSeconds.record((performance.now() - started) / 1000);
        span.end();
      }
    });
  }

  /**
   * Whether a selection's proactive gate is to be replayed now: the gate is on, the series' history
   * covers its window and a day before it, the model passed the accuracy gate, no verdict was
   * stored for this selection yet (one made before the gate was turned on, or carried over from
   * the previous selection), and this pass has replays left (FORECAST_GATES_PER_PASS keeps their
   * cost out of the pass's critical path: the others run on their current verdict meanwhile).
   */
  private gateDue(selection: ModelSelection, grid: RegularSeries): boolean {
    const gateSteps = this.gateSteps(grid);
    return (
      gateSteps > 0 &&
      grid.values.length - gateSteps >= DAY_MS / grid.stepMs &&
      !worseThanSeasonalNaive(selection) &&
      selection.gate?.of !== selection.selectedAt &&
      this.gatesThisPass < this.config.FORECAST_GATES_PER_PASS
    );
  }

  /** Steps of the grid the gate replays (FORECAST_GATE_DAYS). */
  private gateSteps(grid: RegularSeries): number {
    return Math.round((this.config.FORECAST_GATE_DAYS * DAY_MS) / grid.stepMs);
  }

  /**
   * The proactive gate (decision 0034) on a selection: the allocator's policy replayed on the last
   * FORECAST_GATE_DAYS of the series' grid (the selected model forecasting, every
   * FORECAST_GATE_REPLAN_MINUTES, from the data before that time) against the reactive policy's
   * sweep. Closed → the selection is `forecastOnly`, which the allocator serves with its reactive policy.
   */
  private async gated(key: SeriesKey, history: DemandSeries, grid: RegularSeries, selection: ModelSelection, profile: DomainProfile, horizon: number): Promise<ModelSelection> {
    const days = this.config.FORECAST_GATE_DAYS;
    const from = grid.values.length - this.gateSteps(grid);
    const window = simulatedTraceOf(grid.values.subarray(from), grid.startMs + from * grid.stepMs, grid.stepMs, this.config.FORECAST_GATE_DELAY_MINUTES);
    const replanMinutes = this.config.FORECAST_GATE_REPLAN_MINUTES || Math.max(1, Math.round(this.config.FORECAST_INTERVAL_MS / 60_000));
    const gate = await tracer.startActiveSpan('forecast.gate', async (span) => {
      try {
        return await proactiveGate(window, {
          replanMinutes,
          scoreFrom: replanMinutes,
          tier: profile.tier,
          requestCost: requestCostOf(profile),
          forecastAt: async (minute) => {
            const at = window.startMs + minute * 60_000;
            const before = seriesBefore(history, at);
            if (before.timestamps.length === 0) return null;
            return toForecastPayload(key, await forecast(before, selection, this.models, { horizon }), selection, profile, new Date(at), 'scheduled');
          },
        });
      } finally {
        span.end();
      }
    });
    const verdict = { days, proactive: gate.proactive, reason: gate.reason, reduction: gate.reduction, costRatio: gate.costRatio, of: selection.selectedAt };
    this.logger.info({ domain: key.domain, region: key.region, ...verdict }, gate.proactive ? 'proactive gate open' : 'proactive gate closed: forecasts published for information only');
    return withProactiveGate(selection, verdict);
  }

  /**
   * The pooled tier's forecast of a series with history: FORECAST_POOLED_HISTORY_DAYS read, no model
   * fit, no borrowed shapes; its holdout and shape feed the learner. Null when the history is
   * shorter than a day: the full path's prior, moved towards the data, serves it as it serves any
   * young series.
   */
  private async pooledRun(key: SeriesKey, state: SeriesState, base: DomainProfile, stepMs: number, horizon: number, now: Date) {
    const history = await this.store.history(key, state.latestBucketMs! - this.config.FORECAST_POOLED_HISTORY_DAYS * DAY_MS);
    return this.pooledForecastOf(key, base, history, stepMs, horizon, now);
  }

  private pooledForecastOf(key: SeriesKey, base: DomainProfile, history: DemandSeries & { requests: number; bytes: number; latencyMs: number }, stepMs: number, horizon: number, now: Date) {
    // A history of buckets at the forecast's step is on its grid already (onGrid: no copies).
    const grid = onGrid(history, stepMs) ?? prepareSeries(history, { stepMs }).grid;
    if (!(grid.values.length * stepMs >= DAY_MS)) return null;
    const profile = learnedProfile(base, history);
    const utcOffsetHours = this.markets.utcOffsetHours(key.region);
    const shape = this.pooled?.shapes[profile.appType] ?? PriorShapes[profile.appType].daily;
    const result = pooledForecast(grid, utcOffsetHours, shape, this.pooled?.calibrations ?? null, { horizon, now });
    this.learner.add(profile.appType, grid, utcOffsetHours, result.holdout);
    const own = dailyShapeOf(grid, utcOffsetHours);
    return { result, profile, dailyShape: own ? { appType: profile.appType, ...own } : undefined, volume: lastDayVolume(grid) };
  }

  /**
   * Scheduled forecasts of many pooled-tier series: their state and history in one query, one
   * statement storing every forecast and event (ForecasterStore.pooledInputs, saveForecastRuns).
   * Returns the series it did not forecast because they need the per-series path (no history, or
   * less than a day of it: the prior); a deregistered domain is skipped.
   */
  async runPooledBatch(keys: readonly SeriesKey[], now = new Date()): Promise<SeriesKey[]> {
    const stepMs = this.config.FORECAST_STEP_MS;
    const horizon = Math.round((this.config.FORECAST_HORIZON_HOURS * 3_600_000) / stepMs);
    const rest: SeriesKey[] = [];
    const writes: Array<{ key: SeriesKey; eventJson?: string } & ForecastRunWrites> = [];
    for (const input of await this.store.pooledInputs(keys, this.config.FORECAST_POOLED_HISTORY_DAYS)) {
      if (input.deregistered) continue;
      const base = input.profile ?? defaultProfile(this.config.FORECAST_DEFAULT_APP_TYPE, this.config.FORECAST_DEFAULT_TIER);
      const pooled = input.latestBucketMs === null ? null : this.pooledForecastOf(input.key, base, input.history, stepMs, horizon, now);
      if (!pooled) {
        rest.push(input.key);
        continue;
      }
      const { writes: w } = this.outcome(input.key, input.lastPublished, pooled.result, null, pooled.profile, { dailyShape: pooled.dailyShape, tier: { tier: 'pooled', volume: pooled.volume } }, null, 'scheduled', now);
      writes.push({ key: input.key, ...w, eventJson: w.event ? JSON.stringify(w.event) : undefined });
    }
    await this.store.saveForecastRuns(writes);
    // Sent from memory once committed: the poll would read every payload back (~10 kB each).
    const sent = writes.flatMap((w) => (w.event ? [{ eventId: w.event.eventId, topic: Topics.demandForecast, key: w.key.domain, payload: w.eventJson! }] : []));
    this.relay.publishWritten(
      sent,
      sent.map((m) => m.eventId),
    );
    return rest;
  }

  /** Stores the forecast, and its outbox event when it is published (see `run`); returns the event. */
  private async publish(
    key: SeriesKey,
    state: SeriesState,
    result: DemandForecastResult,
    selection: ModelSelection | null,
    profile: DomainProfile,
    run: Omit<ForecastRunWrites, 'event'>,
    cause: ForecastCause | null,
    reason: ForecastReason,
    now: Date,
  ): Promise<DemandForecastEvent | null> {
    const { event, writes } = this.outcome(key, state.lastPublished, result, selection, profile, run, cause, reason, now);
    await this.store.saveForecastRun(key, writes);
    if (!event) return null;
    // A scheduled refresh leaves its events to the relay's next poll (≤ 1 s once the writer grace
    // is past): one poll per page of events, not two relay transactions per series. Anything asked
    // for goes now, handed to the relay (the poll would leave it the grace).
    if (reason !== 'scheduled') {
      this.relay.publishWritten([{ eventId: event.eventId, topic: Topics.demandForecast, key: key.domain, payload: JSON.stringify(event) }], [event.eventId]);
    }
    if (result.fallbackErrors.length) this.logger.warn({ ...key, errors: result.fallbackErrors }, 'model fell back');
    this.logger.info({ ...key, model: result.model, mase: result.mase, confidence: result.confidence, priorWeight: event.payload.priorWeight, reason: event.payload.reason, eventId: event.eventId }, 'forecast published');
    return event;
  }

  /** Whether a forecast is published (when `reason` is not `scheduled`, when it moved, or when the last one is due), and what its run writes. */
  private outcome(
    key: SeriesKey,
    last: SeriesState['lastPublished'],
    result: DemandForecastResult,
    selection: ModelSelection | null,
    profile: DomainProfile,
    run: Omit<ForecastRunWrites, 'event'>,
    cause: ForecastCause | null,
    reason: ForecastReason,
    now: Date,
  ): { event: (DemandForecastEvent & { payload: DemandForecast }) | null; writes: ForecastRunWrites } {
    const payload = toForecastPayload(key, result, selection, profile, now, reason);
    const due = !last || now.getTime() - last.publishedAt >= this.config.FORECAST_PUBLISH_MAX_AGE_MS;
    const publish = reason !== 'scheduled' || due || forecastMoved(last.payload, payload, this.config.FORECAST_PUBLISH_THRESHOLD);
    forecastsCounter.add(1, { model: result.model, confidence: result.confidence, published: publish });
    if (!publish) return { event: null, writes: run };
    if (reason === 'scheduled' && !due) payload.reason = 'moved';
    const event = this.envelope(payload, cause, now);
    return { event, writes: { ...run, event } };
  }

  /**
   * Ranks `keys` by their volume (the one each series' last run stored; series without one, by an
   * aggregate of their last day) and assigns the tiers the runs of this pass take; loads the
   * pooled tier's stored state once. Returns how many series are in each tier.
   */
  async assignTiers(keys: readonly SeriesKey[], now = new Date()): Promise<Record<ForecastTier, number>> {
    this.gatesThisPass = 0; // a pass begins here
    const stored = new Map((await this.store.seriesTiers()).map((r) => [seriesId(r), r]));
    const volumes = new Map<string, number>();
    const previous = new Map<string, ForecastTier>();
    const unranked: SeriesKey[] = [];
    for (const key of keys) {
      const r = stored.get(seriesId(key));
      if (!r) unranked.push(key);
      else {
        volumes.set(seriesId(key), r.volume);
        previous.set(seriesId(key), r.tier);
      }
    }
    for (const r of await this.store.recentVolumes(unranked, now.getTime() - DAY_MS)) volumes.set(seriesId(r), r.volume);
    this.tiers = assignTiers(volumes, previous, { fullSeries: this.config.FORECAST_FULL_TIER_SERIES });
    this.assigned ??= Promise.resolve();
    if (!this.pooledLoaded) {
      this.pooled = await this.store.pooledTier();
      this.pooledLoaded = true;
    }
    const counts: Record<ForecastTier, number> = { full: 0, pooled: 0 };
    for (const t of this.tiers.values()) counts[t]++;
    this.fullCount = counts.full;
    return counts;
  }

  /**
   * A series' tier: the last assignment's (the first run after a start assigns every known series),
   * else, for a series new since, full while the full tier has room (a small deployment selects a
   * model for every series, as before the tiers) and pooled once it is full, until the next
   * assignment ranks it.
   */
  private async tierFor(key: SeriesKey): Promise<ForecastTier> {
    this.assigned ??= this.store
      .seriesKeys()
      .then((keys) => this.assignTiers(keys))
      .catch((err) => {
        this.assigned = null; // the next run tries again
        throw err;
      });
    await this.assigned;
    const known = this.tiers.get(seriesId(key));
    if (known) return known;
    const tier: ForecastTier = this.fullCount < this.config.FORECAST_FULL_TIER_SERIES ? 'full' : 'pooled';
    if (tier === 'full') this.fullCount++;
    this.tiers.set(seriesId(key), tier);
    return tier;
  }

  /** The tier of a series in the last assignment (undefined: not assigned yet). */
  tierOf(key: SeriesKey): ForecastTier | undefined {
    return this.tiers.get(seriesId(key));
  }

  /** Whether the pooled tier has learnt a state (from a pass, or stored by an earlier instance). */
  get pooledLearnt(): boolean {
    return this.pooled !== null;
  }

  /**
   * Learns the pooled tier's state from `keys`' histories without forecasting them: the first pass
   * ever has no earlier pass to learn from, and its pooled forecasts would be uncalibrated.
   */
  async learnPooled(keys: readonly SeriesKey[], now = new Date()): Promise<void> {
    const stepMs = this.config.FORECAST_STEP_MS;
    const horizon = Math.round((this.config.FORECAST_HORIZON_HOURS * 3_600_000) / stepMs);
    for (let from = 0; from < keys.length; from += 200) {
      for (const input of await this.store.pooledInputs(keys.slice(from, from + 200), this.config.FORECAST_POOLED_HISTORY_DAYS)) {
        if (input.deregistered || input.latestBucketMs === null) continue;
        const base = input.profile ?? defaultProfile(this.config.FORECAST_DEFAULT_APP_TYPE, this.config.FORECAST_DEFAULT_TIER);
        this.pooledForecastOf(input.key, base, input.history, stepMs, horizon, now);
      }
    }
    await this.finishPass(now);
  }

  /** The end of a pass: what the pooled tier learnt from it is its state for the next (stored, for a restart). */
  async finishPass(now = new Date()): Promise<void> {
    const state = this.learner.result(now);
    this.learner = new PooledTierLearner();
    if (!state) return;
    this.pooled = state;
    await this.store.savePooledTier(state);
  }

  /** The payload is the envelope's last key: ForecasterStore.saveForecastRuns cuts the stored payload from the event's JSON. */
  private envelope(payload: DemandForecast, cause: ForecastCause | null, now: Date): DemandForecastEvent & { payload: DemandForecast } {
    const eventId = deterministicEventId(DEMAND_FORECAST, payload.domain, payload.region, payload.generatedAt, payload.startAt);
    return { eventId, type: DEMAND_FORECAST, occurredAt: now.toISOString(), producedBy: 'forecaster', correlationId: cause?.correlationId ?? eventId, causationId: cause?.eventId ?? null, payload };
  }

  /** The prior of a series (`registrationPrior`): the registration's peak × the region's share (an unregistered domain: none, the data's level), local time, borrowed shapes. */
  private priorOf(key: SeriesKey, registration: DomainRegistration | null, profile: DomainProfile, share: number | null, borrowed: Array<{ shape: DailyShape; days: number }>): PriorInput {
    return registrationPrior({ registration, share, appType: profile.appType, utcOffsetHours: this.markets.utcOffsetHours(key.region), borrowed: combineDailyShapes(borrowed) });
  }
}

/** Requests over the last day of a series' grid: the volume the tiers rank it by. */
function lastDayVolume(grid: RegularSeries): number {
  let sum = 0;
  for (let i = Math.max(0, grid.values.length - Math.round(DAY_MS / grid.stepMs)); i < grid.values.length; i++) sum += grid.values[i];
  return sum;
}

/** The registered profile (else the configured default), refined by observed bytes and latency. */
function learnedProfile(base: DomainProfile, observed: { requests: number; bytes: number; latencyMs: number }): DomainProfile {
  return learnProfile(base, {
    requests: observed.requests,
    meanBytesOut: observed.requests > 0 ? observed.bytes / observed.requests : undefined,
    meanLatencyMs: observed.requests > 0 ? observed.latencyMs : undefined,
  });
}
