import { PACKED_SCAN_LAYOUT } from '@shardcast/telemetry';
import { layoutMismatch, loadAddon, requestedNativeBuild } from './addon-loader';

describe('loadAddon', () => {
  it('loads both addons when their constants are the TypeScript ones', () => {
    expect(loadAddon('telemetry_scanner', PACKED_SCAN_LAYOUT).error).toBeUndefined();
    expect(loadAddon('librdkafka_batch_consumer', { metaFields: 5, offsetInvalid: -1001 }).error).toBeUndefined();
  });

  it('refuses an addon whose constants differ from the TypeScript source of truth, naming them', () => {
    jest.isolateModules(() => {
      const { loadAddon: freshLoad } = require('./addon-loader') as typeof import('./addon-loader');
      const { addon, error } = freshLoad('telemetry_scanner', { ...PACKED_SCAN_LAYOUT, groupFields: 16 });
      expect(addon).toBeUndefined();
      expect(error).toMatch(/groupFields: C 15, TypeScript 16/);
    });
  });

  it('loads the build SHARDCAST_NATIVE_BUILD asks for (release by default) and refuses an unknown one', () => {
    expect(requestedNativeBuild({})).toBe('release');
    expect(requestedNativeBuild({ SHARDCAST_NATIVE_BUILD: 'asan' })).toBe('asan');
    expect(() => requestedNativeBuild({ SHARDCAST_NATIVE_BUILD: 'tsan' })).toThrow(/expected release or asan/);
    expect(loadAddon<{ build: string; layout: Record<string, number> }>('telemetry_scanner', PACKED_SCAN_LAYOUT).addon?.build).toBe(requestedNativeBuild());
  });

  it('says which constant is missing on either side', () => {
    expect(layoutMismatch({ a: 1, b: 2 }, { a: 1, c: 3 })).toBe('c: C none, TypeScript 3; b: C 2, TypeScript none');
    expect(layoutMismatch({ a: 1 }, { a: 1 })).toBeUndefined();
  });

  it('says an addon that is not built is not built, and how to build it', () => {
    expect(loadAddon('no_such_addon', {}).error).toMatch(requestedNativeBuild() === 'asan' ? /build-asan\/no_such_addon\.node is not built \(bash .*--sanitize/ : /build\/no_such_addon\.node is not built \(npm run build/);
  });
});
