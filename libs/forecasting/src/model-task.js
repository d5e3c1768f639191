"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.ModelFitError = void 0;
/** A model could not be fitted or predicted; the caller falls back to the next model. */
class ModelFitError extends Error {
    fatal;
    code = 'FORECAST_MODEL_FAILED';
    constructor(message, 
    /** The worker hit a WebAssembly trap and was replaced. */
    fatal = false) {
        super(message);
        this.fatal = fatal;
        this.name = 'ModelFitError';
    }
}
exports.ModelFitError = ModelFitError;
//# sourceMappingURL=model-task.js.map