import { DEMAND_FORECAST, DemandForecastEvent, deterministicEventId, DOMAIN_REGISTERED, DomainRegisteredEvent, DomainRegistration, ErrorCodes, ShardcastError } from '@shardcast/contracts';
import { DefaultMarkets, defaultProfile, DomainProfile } from '@shardcast/forecasting';
import type { MarketMap, RegionShare } from '@shardcast/geo';
import type { Logger, OutboxRelay } from '@shardcast/platform';
import { ForecasterStore } from '../persistence/forecaster-store';
import { ForecastCause } from '../forecasting/forecast-runner';
import { ForecastScheduler } from '../forecasting/forecast-scheduler';

/**
 * Registrations, from the API and from domain.registered.v1: stores the registration with its
 * market regions and forecasts every one of them at once (the prior, before the first request);
 * a deregistration stops forecasting and says so on demand.forecast.v1. An API registration is
 * also published on domain.registered.v1 (a deregistration as a tombstone), through the outbox
 * with the store write, so the compacted topic holds every registration
 * (docs/decisions/0025-api-registrations-on-the-topic.md); the topic's echo changes nothing.
 */
export class DomainRegistry {
  constructor(
    private readonly store: ForecasterStore,
    private readonly scheduler: ForecastScheduler,
    private readonly markets: MarketMap,
    private readonly relay: OutboxRelay,
    private readonly logger: Logger,
  ) {}

  /** Market regions with shares; a market the region table does not know is refused with a reason. */
  regionsOf(registration: Pick<DomainRegistration, 'markets' | 'tier'>): RegionShare[] {
    try {
      return this.markets.regionShares(registration.markets ?? DefaultMarkets[registration.tier]);
    } catch (err) {
      throw new ShardcastError(ErrorCodes.REQUEST_INVALID, `markets: ${(err as Error).message}`);
    }
  }

  /**
   * Stores the registration and publishes a forecast for each market region; resolves once they
   * are written. `publish` (the API): the registration also goes on domain.registered.v1.
   */
  async register(registration: DomainRegistration, cause: ForecastCause | null, options: { publish?: boolean } = {}): Promise<RegionShare[]> {
    const regions = this.regionsOf(registration);
    const profile: DomainProfile = { ...defaultProfile(registration.appType, registration.tier), ...registration.requestCost };
    const published = options.publish ? registeredEvent(registration) : undefined;
    const changed = await this.store.saveRegistration(registration, regions, profile, cause?.eventId ?? published?.eventId ?? null, published);
    this.logger.info({ domain: registration.domain, regions, changed }, changed ? 'domain registered' : 'registration unchanged');
    if (changed) {
      if (published) this.relay.kick();
      cause ??= published ? { eventId: published.eventId, correlationId: published.correlationId } : null;
      for (const r of regions) this.scheduler.markDirty({ domain: registration.domain, region: r.region }, cause, 'registered');
      await this.scheduler.drain();
    }
    return regions;
  }

  /**
   * Deregisters: false when the domain was unknown or already deregistered. `publish` (the API):
   * a tombstone for the domain goes on domain.registered.v1.
   */
  async deregister(domain: string, cause: ForecastCause | null, options: { publish?: boolean } = {}): Promise<boolean> {
    const at = new Date();
    const tombstone = options.publish ? { eventId: deterministicEventId(DOMAIN_REGISTERED, 'tombstone', domain, at.toISOString()) } : undefined;
    const regions = await this.store.deregister(domain, (regions) => {
      const eventId = deterministicEventId(DEMAND_FORECAST, 'deregistered', domain, at.toISOString());
      const event: DemandForecastEvent = {
        eventId,
        type: DEMAND_FORECAST,
        occurredAt: at.toISOString(),
        producedBy: 'forecaster',
        correlationId: cause?.correlationId ?? eventId,
        causationId: cause?.eventId ?? null,
        payload: { kind: 'deregistered', domain, deregisteredAt: at.toISOString(), regions },
      };
      return event;
    }, tombstone);
    if (regions === null) {
      this.logger.info({ domain }, 'deregistration unchanged: the domain is not registered');
      return false;
    }
    this.relay.kick();
    this.logger.info({ domain, regions }, 'domain deregistered');
    return true;
  }
}

/** An API registration as domain.registered.v1 carries it; its id follows from the registration, so a retried write is one event. */
function registeredEvent(registration: DomainRegistration): DomainRegisteredEvent {
  const eventId = deterministicEventId(DOMAIN_REGISTERED, registration.domain, registration.registeredAt);
  return { eventId, type: DOMAIN_REGISTERED, occurredAt: registration.registeredAt, producedBy: 'forecaster', correlationId: eventId, causationId: null, payload: registration };
}
