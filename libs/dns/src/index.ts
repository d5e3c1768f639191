/** @shardcast/dns: the records dns-publisher wants (layouts + health → geo answers), plans against what a server holds, and renderers. Pure. */
export { canonicalRRset, geoProblems, MAX_TTL, nameProblem, recordKey, rrsetProblems, valueProblem } from './records';
export type { GeoAnswer, GeoRecord, RecordType, RRset } from './records';
export { DEFAULT_DNS_POLICY, domainRecords } from './answers';
export type { ClientDecision, DnsPolicy, DomainRecords, FailurePolicy, RoundTrips, ShardHealth } from './answers';
export { applyPlan, planChanges, recordKeyOf } from './plan';
export type { Change, DnsRecord, Plan, RecordSet, SyncPolicy } from './plan';
export { cidrProblem, clientRegionOf, ipv4ToNumber, numberToIpv4, subnetsByRegion } from './client-subnets';
export type { ClientSubnet } from './client-subnets';
export { impactTable, trafficImpact } from './impact';
export type { TrafficMove } from './impact';
export { renderZoneFile, RenderRefused } from './render/zone-file';
export type { ZoneAuthority } from './render/zone-file';
export { renderKnotGeoip } from './render/knot-geoip';
export { renderPdnsLua } from './render/pdns-lua';
export type { LuaRecord } from './render/pdns-lua';
