/**
 * Architecture rules, checked by `npm run lint` (so by every `npm test`) over every folder of
 * code: apps, libs, bench, scripts, e2e, tools. tools/architecture/architecture-rules.unit.spec.ts
 * shows each rule firing on a forbidden import.
 * - apps are wiring; libs never import apps; outsiders (bench, scripts, e2e) reach an app only
 *   through its public entry point, apps/<service>/src/index.ts.
 * - domain libs stay pure: no Nest, Kafka, TypeORM, Redis, pg, nor the platform lib that wraps
 *   them, and no native code (ingest wires libs/ingest-native's implementations of their interfaces).
 * - libs/platform is generic: no domain lib, no ingest-only code.
 * - contracts depend on nothing but zod: no npm package, no other lib, no app.
 * - libs/ingest-native is ingest's: only apps/ingest and bench use it.
 * - test helpers (libs/test-stack, libs/<lib>/testing) stay out of production code.
 */
const DOMAIN_LIBS = '^libs/(telemetry|forecasting|allocation|placement|dns|health|hashing|geo)/';
const IO_PACKAGES = '^node_modules/(@nestjs/|kafkajs/|typeorm/|ioredis/|pg/|pg-[^/]+/|redis/|@opentelemetry/sdk)';
const SPEC = '\\.spec\\.ts$';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    { name: 'libs-do-not-import-apps', severity: 'error', from: { path: '^libs/' }, to: { path: '^apps/' } },
    { name: 'apps-do-not-import-other-apps', severity: 'error', from: { path: '^apps/([^/]+)/' }, to: { path: '^apps/', pathNot: '^apps/$1/' } },
    {
      name: 'domain-libs-are-pure',
      comment: 'Decisions are pure functions; I/O lives in apps and libs/platform.',
      severity: 'error',
      from: { path: DOMAIN_LIBS, pathNot: SPEC },
      to: { path: IO_PACKAGES },
    },
    {
      name: 'domain-libs-do-not-use-platform',
      severity: 'error',
      from: { path: DOMAIN_LIBS, pathNot: SPEC },
      to: { path: '^libs/(platform|test-stack)/' },
    },
    {
      name: 'contracts-depend-on-zod-only',
      severity: 'error',
      from: { path: '^libs/contracts/src/', pathNot: SPEC },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-no-pkg', 'npm-unknown'], pathNot: '^node_modules/zod/' },
    },
    {
      name: 'contracts-import-nothing-internal',
      comment: 'Every service and outsider depends on the contracts; they depend on no lib and no app.',
      severity: 'error',
      from: { path: '^libs/contracts/' },
      to: { path: '^(libs|apps)/', pathNot: '^libs/contracts/' },
    },
    {
      name: 'platform-imports-no-domain-lib',
      comment: 'The platform serves every service: no domain knowledge, no ingest-only code.',
      severity: 'error',
      from: { path: '^libs/platform/' },
      to: { path: [DOMAIN_LIBS, '^libs/ingest-native/'] },
    },
    {
      name: 'domain-libs-load-no-native-code',
      comment: 'A domain lib defines the interface; apps/ingest wires the native implementation in.',
      severity: 'error',
      from: { path: DOMAIN_LIBS },
      to: { path: ['^libs/ingest-native/', '\\.node$'] },
    },
    {
      name: 'ingest-native-is-ingests',
      comment: 'Only ingest (and its benchmarks) run the native addons.',
      severity: 'error',
      from: { pathNot: '^(apps/ingest/|bench/|libs/ingest-native/)' },
      to: { path: '^libs/ingest-native/' },
    },
    {
      name: 'outsiders-use-app-entry-points',
      comment: 'bench, scripts and e2e use what an app exports from apps/<service>/src/index.ts, not its internals.',
      severity: 'error',
      from: { path: '^(bench|scripts|e2e|tools)/' },
      to: { path: '^apps/[^/]+/', pathNot: '^apps/[^/]+/src/index\\.ts$' },
    },
    {
      name: 'only-specs-use-testing-helpers',
      severity: 'error',
      from: { pathNot: `(${SPEC}|^libs/[^/]+/testing/)` },
      to: { path: '^libs/[^/]+/testing/' },
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
