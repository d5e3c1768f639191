import { CAPACITY_PLAN, CapacityPlanEvent, CapacityPlanEventSchema, deterministicEventId, Tier } from '@shardcast/contracts';

const need = (rps: number) => ({ cpuCores: rps / 1000, memoryGiB: rps / 10_000, egressMbps: rps / 100 });

/** A capacity.plan.v1 event as the allocator writes it: each region serving its own demand (requests/s); no regions: a release. */
export function planEvent(domain: string, version: number, served: Record<string, number>, tier: Tier = 'pro', ipv4 = (region: string) => `192.0.2.${region.length}`): CapacityPlanEvent {
  const now = Date.now();
  const planId = deterministicEventId(CAPACITY_PLAN, domain, version);
  return CapacityPlanEventSchema.parse({
    eventId: planId,
    type: CAPACITY_PLAN,
    occurredAt: new Date(now).toISOString(),
    producedBy: 'test',
    correlationId: `corr-${domain}-${version}`,
    causationId: null,
    payload: {
      domain,
      tier,
      version,
      planId,
      validFrom: new Date(now).toISOString(),
      validUntil: new Date(now + 3_600_000).toISOString(),
      regions: Object.entries(served).map(([region, rps]) => ({
        region,
        reason: 'proactive',
        quantile: 'p90',
        reserved: need(rps),
        requestsPerSecond: rps,
        shortRequestsPerSecond: 0,
        poolHeadroom: need(10_000),
        endpoints: { ipv4: [ipv4(region)], ipv6: [] },
        servedByOrigin: [{ origin: region, requestsPerSecond: rps, forecastEventId: 'f-1' }],
        schedule: [],
      })),
      shortByOrigin: [],
    },
  }) as CapacityPlanEvent;
}
