import { ModelRunner } from './model-task';
import { SeasonPeriods } from './season-periods';
/** Single models. Seasonal naive is computed in-process; the others run as worker tasks (augurs, arima). */
export declare const BaseModels: readonly ["naive", "snaive-daily", "snaive-weekly", "ets", "mstl", "arima", "prophet"];
export type BaseModelName = (typeof BaseModels)[number];
/**
 * Median ensembles count as one candidate each (DECISIONS.md). `median-4` is the combination that
 * beat every single model in the trial on these files; `median-5` adds ETS.
 */
export declare const Ensembles: {
    readonly 'median-4': readonly ["snaive-daily", "snaive-weekly", "mstl", "prophet"];
    readonly 'median-5': readonly ["snaive-daily", "snaive-weekly", "mstl", "prophet", "ets"];
};
export type EnsembleName = keyof typeof Ensembles;
export type CandidateName = BaseModelName | EnsembleName;
/** Candidates tried by `selectModel` unless told otherwise (`naive` is the last-resort fallback only). */
export declare const DefaultCandidates: readonly CandidateName[];
/** What a model sees: the known part of the series (regular, gap-free, bounded) and what to predict. */
export interface ModelInput {
    y: Float64Array;
    startMs: number;
    stepMs: number;
    horizon: number;
    periods: SeasonPeriods;
}
export interface ModelResolution {
    /** MSTL and ARIMA fit on means over blocks of this length when the step is finer (default 30 min). */
    mstlStepMs?: number;
    /** Prophet and ETS fit on hourly means when the step is finer (DECISIONS.md: Prophet on hourly data). */
    prophetStepMs?: number;
}
export declare function isEnsemble(name: CandidateName): name is EnsembleName;
export declare function membersOf(name: CandidateName): readonly BaseModelName[];
/** Point forecast of one single model. Rejects with `ModelFitError` when the model cannot be used. */
export declare function forecastBaseModel(name: BaseModelName, input: ModelInput, runner: ModelRunner, res?: ModelResolution): Promise<Float64Array>;
/** Per-step median of the members that succeeded (at least two). */
export declare function medianOf(forecasts: readonly Float64Array[], horizon: number): Float64Array;
export type CandidateOutcome = {
    ok: true;
    point: Float64Array;
} | {
    ok: false;
    error: string;
};
/**
 * Point forecasts of several candidates from one origin. Each base model is fitted once, in
 * parallel, and shared by the ensembles that contain it. Failures are returned, never thrown.
 */
export declare function forecastCandidates(names: readonly CandidateName[], input: ModelInput, runner: ModelRunner, res?: ModelResolution): Promise<Map<CandidateName, CandidateOutcome>>;
/** augurs throws strings, wasm traps throw RuntimeError: make every failure a readable message. */
export declare function describe(err: unknown): string;
