export * from './stack-env';
export * from './service-process';
export * from './kcat';
export * from './eventually';
export * from './telemetry-fixture';
export * from './dead-letters';
export * from './private-stack';
