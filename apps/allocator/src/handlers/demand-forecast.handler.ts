import { Type } from '@nestjs/common';
import { DemandForecastEventSchema } from '@shardcast/contracts';
import { contractEventHandler } from '@shardcast/platform';

/** Consumes demand.forecast.v1: the forecasts it reserves capacity for (observed only, until its issue builds the logic). */
export function demandForecastHandler(topic: string): Type<unknown> {
  return contractEventHandler(topic, DemandForecastEventSchema, (e) => ({ eventId: e.eventId, correlationId: e.correlationId, domain: e.payload.domain, kind: e.payload.kind, ...(e.payload.kind === 'forecast' ? { region: e.payload.region, steps: e.payload.steps, priorWeight: e.payload.priorWeight } : { regions: e.payload.regions }) }));
}
