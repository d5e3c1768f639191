/**
 * The architecture rules (.dependency-cruiser.cjs) fire: one forbidden import per rule, written at
 * a path the rule covers while the test runs, must be reported by that rule, and the real tree by
 * none. A rule deleted or weakened (or a new one without a fixture here) fails this test.
 * Also: the curated exports of the libs (their index.ts) name only what other code uses.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '..', '..');
const CHECKED_FOLDERS = ['apps', 'libs', 'bench', 'scripts', 'e2e', 'tools'];
/** Fixture files end with this (and are git-ignored, should a crashed run leave one behind). */
const SUFFIX = '.arch-fixture.ts';

interface Fixture {
  rule: string;
  /** Where the forbidden import sits, without SUFFIX. */
  from: string;
  imports: string;
}

const FIXTURES: Fixture[] = [
  { rule: 'no-circular', from: 'libs/telemetry/src/cycle-a', imports: './cycle-b.arch-fixture' },
  { rule: 'no-circular', from: 'libs/telemetry/src/cycle-b', imports: './cycle-a.arch-fixture' },
  { rule: 'libs-do-not-import-apps', from: 'libs/test-stack/src/app-import', imports: '../../../apps/ingest/src' },
  { rule: 'apps-do-not-import-other-apps', from: 'apps/allocator/src/other-app', imports: '../../forecaster/src' },
  { rule: 'domain-libs-are-pure', from: 'libs/forecasting/src/kafka', imports: 'kafkajs' },
  { rule: 'domain-libs-do-not-use-platform', from: 'libs/forecasting/src/platform', imports: '@shardcast/platform' },
  { rule: 'contracts-depend-on-zod-only', from: 'libs/contracts/src/npm', imports: 'kafkajs' },
  { rule: 'contracts-import-nothing-internal', from: 'libs/contracts/src/internal', imports: '@shardcast/telemetry' },
  { rule: 'contracts-import-nothing-internal', from: 'libs/contracts/scripts/app', imports: '../../../apps/ingest/src' },
  { rule: 'platform-imports-no-domain-lib', from: 'libs/platform/src/domain', imports: '@shardcast/forecasting' },
  { rule: 'platform-imports-no-domain-lib', from: 'libs/platform/src/native', imports: '@shardcast/ingest-native' },
  { rule: 'domain-libs-load-no-native-code', from: 'libs/telemetry/src/native', imports: '@shardcast/ingest-native' },
  { rule: 'domain-libs-load-no-native-code', from: 'libs/forecasting/src/addon', imports: './telemetry_scanner.node' },
  { rule: 'ingest-native-is-ingests', from: 'apps/forecaster/src/native', imports: '@shardcast/ingest-native' },
  { rule: 'outsiders-use-app-entry-points', from: 'bench/internals', imports: '../apps/ingest/src/ingest.config' },
  { rule: 'outsiders-use-app-entry-points', from: 'e2e/internals', imports: '../apps/forecaster/src/forecaster.config' },
  { rule: 'outsiders-use-app-entry-points', from: 'scripts/internals', imports: '../apps/ingest/src/persistence/demand-outbox' },
  { rule: 'only-specs-use-testing-helpers', from: 'apps/ingest/src/testing', imports: '@shardcast/telemetry/testing' },
  { rule: 'production-code-does-not-use-test-stack', from: 'apps/monitor/src/test-stack', imports: '@shardcast/test-stack' },
];
// Importing a fixture fires some rules besides its own (a domain lib importing ingest-native is
// also outside ingest); those are expected too.
const ALSO_FIRED: Array<[rule: string, from: string]> = [
  ['ingest-native-is-ingests', 'libs/platform/src/native'],
  ['ingest-native-is-ingests', 'libs/telemetry/src/native'],
  ['libs-do-not-import-apps', 'libs/contracts/scripts/app'],
];
/** A cycle is reported from one of its modules, whichever the cruise meets first. */
const violationKey = (rule: string, from: string) => `${rule} ${from.replace(SUFFIX, '').replace(/\/cycle-[ab]$/, '/cycle-a|b')}`;

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

function cruise(): { violations: Violation[]; error: string } {
  const cli = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const run = spawnSync(process.execPath, [cli, ...CHECKED_FOLDERS, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (!run.stdout) return { violations: [], error: run.stderr };
  return { violations: JSON.parse(run.stdout).summary.violations, error: run.stderr };
}

describe('the architecture rules (.dependency-cruiser.cjs)', () => {
  const written = FIXTURES.map((f) => join(ROOT, f.from + SUFFIX));
  let found: { violations: Violation[]; error: string };

  beforeAll(() => {
    FIXTURES.forEach((f, i) => writeFileSync(written[i], `// A forbidden import (${f.rule}), written by ${relative(ROOT, __filename)}.\nimport '${f.imports}';\n`));
    try {
      found = cruise();
    } finally {
      for (const file of written) if (existsSync(file)) unlinkSync(file);
    }
  }, 60_000);

  it('has a fixture for every rule', () => {
    const { forbidden } = require(join(ROOT, '.dependency-cruiser.cjs')) as { forbidden: Array<{ name: string }> };
    expect(new Set(FIXTURES.map((f) => f.rule))).toEqual(new Set(forbidden.map((r) => r.name)));
  });

  it('reports each forbidden import under its rule, and nothing in the real tree', () => {
    expect(found.error).not.toMatch(/Error/);
    const reported = [...new Set(found.violations.map((v) => violationKey(v.rule.name, v.from)))].sort();
    const expected = [...new Set([...FIXTURES.map((f) => violationKey(f.rule, f.from)), ...ALSO_FIRED.map(([rule, from]) => violationKey(rule, from))])].sort();
    expect(reported).toEqual(expected);
  });
});

/** The names each file under CHECKED_FOLDERS imports from `specifier` (import/export lists and `await import()` destructuring). */
function namesImportedFrom(specifier: string, outside: string): Set<string> {
  const names = new Set<string>();
  const visit = (file: string, node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && node.moduleSpecifier.text === specifier) {
      const list = ts.isImportDeclaration(node) ? node.importClause?.namedBindings : node.exportClause;
      if (list && (ts.isNamedImports(list) || ts.isNamedExports(list))) for (const e of list.elements) names.add((e.propertyName ?? e.name).text);
    }
    if (ts.isVariableDeclaration(node) && ts.isObjectBindingPattern(node.name) && node.initializer && ts.isAwaitExpression(node.initializer)) {
      const call = node.initializer.expression;
      if (ts.isCallExpression(call) && call.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(call.arguments[0]) && call.arguments[0].text === specifier) {
        for (const e of node.name.elements) names.add(((e.propertyName as ts.Identifier | undefined) ?? (e.name as ts.Identifier)).text);
      }
    }
    ts.forEachChild(node, (child) => visit(file, child));
  };
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!['node_modules', 'dist', 'build'].includes(entry.name) && path !== outside) walk(path);
      } else if (entry.name.endsWith('.ts')) {
        visit(path, ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true));
      }
    }
  };
  for (const folder of CHECKED_FOLDERS) if (existsSync(join(ROOT, folder))) walk(join(ROOT, folder));
  return names;
}

/** The names an index.ts exports; `export *` is refused (the exports are curated). */
function namesExportedBy(index: string): string[] {
  const source = ts.createSourceFile(index, readFileSync(index, 'utf8'), ts.ScriptTarget.Latest, true);
  return source.statements.flatMap((s) => {
    if (!ts.isExportDeclaration(s)) return [];
    if (!s.exportClause || !ts.isNamedExports(s.exportClause)) throw new Error(`${relative(ROOT, index)}: export * is not curated`);
    return s.exportClause.elements.map((e) => e.name.text);
  });
}

describe('curated exports', () => {
  it.each([
    ['@shardcast/platform', 'libs/platform/src/index.ts', 'libs/platform'],
    ['@shardcast/telemetry', 'libs/telemetry/src/index.ts', 'libs/telemetry'],
    ['@shardcast/ingest-native', 'libs/ingest-native/src/index.ts', 'libs/ingest-native'],
    ['@shardcast/telemetry/testing', 'libs/telemetry/testing/index.ts', 'libs/telemetry/testing'],
  ])('%s exports only names that code outside it imports', (specifier, index, home) => {
    const used = namesImportedFrom(specifier, join(ROOT, home));
    if (specifier === '@shardcast/telemetry/testing') for (const name of namesImportedFrom('../testing', join(ROOT, home))) used.add(name);
    const unused = namesExportedBy(join(ROOT, index)).filter((name) => !used.has(name));
    expect(unused).toEqual([]);
  });
});
