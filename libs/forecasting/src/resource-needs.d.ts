import { QuantileKey } from './conformal-calibration';
import { DomainProfile } from './domain-profile';
import { DemandForecast } from './demand-forecast';
export interface ResourceNeed {
    cpuCores: number;
    memoryGiB: number;
    egressMbps: number;
}
export interface StepResourceNeeds {
    /** Epoch ms of the step. */
    at: number;
    /** At the tier's quantile, times the tier's headroom. */
    provisioned: ResourceNeed;
    byQuantile: Record<QuantileKey, ResourceNeed>;
}
/** Resources for a request rate (requests per second). */
export declare function resourcesForRate(ratePerSecond: number, profile: DomainProfile): ResourceNeed;
/**
 * Resources per step for one region's demand forecast (values are requests per step). Pure: the
 * caller maps it over regions.
 */
export declare function resourceNeeds(forecast: Pick<DemandForecast, 'startMs' | 'stepMs' | 'horizon' | 'quantiles'>, profile: DomainProfile): StepResourceNeeds[];
