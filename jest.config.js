// Four tiers (README, "The local stack and the tests"; docs/testing.md): unit beside the code, int against the real stack,
// e2e across services, and restart: broker and PostgreSQL outages on a stack of its own, one test at a time.
const swc = ['@swc/jest', JSON.parse(require('fs').readFileSync(`${__dirname}/.swcrc`, 'utf8'))];
const moduleNameMapper = {
  '^@shardcast/platform/otel$': '<rootDir>/libs/platform/src/otel.ts',
  '^@shardcast/([a-z-]+)/testing$': '<rootDir>/libs/$1/testing/index.ts',
  '^@shardcast/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts',
};
const common = { rootDir: __dirname, moduleFileExtensions: ['ts', 'js', 'mjs', 'json'], transform: { '^.+\\.ts$': swc }, moduleNameMapper, testEnvironment: 'node' };

module.exports = {
  // With Docker and no stack variables set, tests get containers; otherwise the env's (local) stack.
  globalSetup: '<rootDir>/libs/test-stack/src/jest-global-setup.ts',
  globalTeardown: '<rootDir>/libs/test-stack/src/jest-global-teardown.ts',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,tools,bench}/**/*.unit.spec.ts'] },
    { ...common, displayName: 'int', testMatch: ['<rootDir>/{apps,libs}/**/*.int.spec.ts'], slowTestThreshold: 60 },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/e2e/**/*.e2e.spec.ts'] },
    // Only libs/ingest-native/scripts/test-sanitized.sh selects it: the canary needs the ASan build.
    { ...common, displayName: 'sanitized', testMatch: ['<rootDir>/libs/ingest-native/**/*.sanitized.spec.ts'] },
    // Serial whatever the flags: its tests stop and restart the one private broker and cluster they share.
    { ...common, displayName: 'restart', testMatch: ['<rootDir>/{apps,libs,e2e}/**/*.restart.spec.ts'], runner: '<rootDir>/libs/test-stack/jest-serial-runner.js', slowTestThreshold: 120 },
  ],
};
