import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PACKED_SCAN_LAYOUT } from '@shardcast/telemetry';
import { loadAddon, requestedNativeBuild } from './addon-loader';

/*
 * Proof that a green sanitized run (scripts/test-sanitized.sh) had the sanitizers: this process
 * loaded the sanitized addons with the ASan runtime, and a deliberate memory error compiled into
 * that build kills a process started the same way. Only that run selects this file (Jest project
 * `sanitized`): the release build has no canary.
 */
describe('the sanitized native build (SHARDCAST_NATIVE_BUILD=asan)', () => {
  it('is what this process loaded, with the ASan runtime', () => {
    expect(requestedNativeBuild()).toBe('asan');
    expect(loadAddon<{ build: string; layout: Record<string, number> }>('telemetry_scanner', PACKED_SCAN_LAYOUT).addon?.build).toBe('asan');
    expect(loadAddon<{ build: string; layout: Record<string, number> }>('librdkafka_batch_consumer', { metaFields: 5, offsetInvalid: -1001 }).addon?.build).toBe('asan');
    const maps = readFileSync('/proc/self/maps', 'utf8');
    expect(maps).toMatch(/\/libasan\.so/);
    expect(maps).toMatch(/build-asan\/telemetry_scanner\.node/);
    expect(maps).toMatch(/build-asan\/librdkafka_batch_consumer\.node/);
  });

  it.each([
    ['sanitizerCanaryHeapOverflow', /ERROR: AddressSanitizer: heap-buffer-overflow[\s\S]*sanitizer-canary\.c/],
    ['sanitizerCanarySignedOverflow', /sanitizer-canary\.c:\d+:\d+: runtime error: signed integer overflow/],
  ])('%s kills a process started like this one, with the sanitizer report', (canary, report) => {
    const addon = resolve(__dirname, '..', 'native', 'build-asan', 'telemetry_scanner.node');
    const child = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)}).${canary}(); console.log('survived')`], { env: process.env, encoding: 'utf8' });
    expect(child.stdout).not.toContain('survived');
    expect(child.status).not.toBe(0);
    expect(child.stderr).toMatch(report);
  });
});
