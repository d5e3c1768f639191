/**
 * Architecture rules (CONVENTIONS.md), checked on every `npm test`:
 * apps are wiring, libs never import apps, domain libs stay pure (no Nest, Kafka, TypeORM,
 * Redis, pg, nor the platform lib that wraps them), contracts depend on nothing but zod.
 */
const DOMAIN_LIBS = '^libs/(telemetry|forecasting|allocation|sharding|dns-plan|health)/';
const IO_PACKAGES = '^node_modules/(@nestjs/|kafkajs/|typeorm/|ioredis/|pg/|pg-[^/]+/|redis/|@opentelemetry/sdk)';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    { name: 'libs-do-not-import-apps', severity: 'error', from: { path: '^libs/' }, to: { path: '^apps/' } },
    { name: 'apps-do-not-import-other-apps', severity: 'error', from: { path: '^apps/([^/]+)/' }, to: { path: '^apps/', pathNot: '^apps/$1/' } },
    {
      name: 'domain-libs-are-pure',
      comment: 'Decisions are pure functions; I/O lives in apps and libs/platform.',
      severity: 'error',
      from: { path: DOMAIN_LIBS, pathNot: '\\.spec\\.ts$' },
      to: { path: IO_PACKAGES },
    },
    {
      name: 'domain-libs-do-not-use-platform',
      severity: 'error',
      from: { path: DOMAIN_LIBS, pathNot: '\\.spec\\.ts$' },
      to: { path: '^libs/(platform|test-stack)/' },
    },
    {
      name: 'contracts-depend-on-zod-only',
      severity: 'error',
      from: { path: '^libs/contracts/src/', pathNot: '\\.spec\\.ts$' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-no-pkg', 'npm-unknown'], pathNot: '^node_modules/zod/' },
    },
    {
      name: 'production-code-does-not-use-test-stack',
      severity: 'error',
      from: { path: '^(apps|libs)/[^/]+/src/', pathNot: '(\\.spec\\.ts$|^libs/test-stack/)' },
      to: { path: '^libs/test-stack/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsConfig: { fileName: 'tsconfig.base.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
