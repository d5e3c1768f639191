"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
//# sourceMappingURL=demand-forecast.js.map