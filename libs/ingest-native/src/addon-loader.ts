import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** An addon ready to use, or why it cannot be (ingest then falls back, or refuses to start when told to use it). */
export type AddonLoad<T> = { addon: T; error?: undefined } | { addon?: undefined; error: string };

/** What every addon of this package exports besides its functions: the constants it was compiled with, and which build it is. */
interface WithLayout {
  layout: Record<string, number>;
  build?: string;
}

/**
 * Which build to load: `release` (native/build/, what `npm run build` makes) or, with
 * SHARDCAST_NATIVE_BUILD=asan, the AddressSanitizer + UndefinedBehaviorSanitizer build
 * (native/build-asan/, `build.sh --sanitize`), which only loads with the ASan runtime preloaded:
 * scripts/test-sanitized.sh runs the native tests that way.
 */
export type NativeBuild = 'release' | 'asan';

export function requestedNativeBuild(env: NodeJS.ProcessEnv = process.env): NativeBuild {
  const build = env.SHARDCAST_NATIVE_BUILD ?? 'release';
  if (build !== 'release' && build !== 'asan') throw new Error(`SHARDCAST_NATIVE_BUILD=${build}: expected release or asan`);
  return build;
}

const BUILD_DIRS: Record<NativeBuild, string> = { release: 'build', asan: 'build-asan' };

const loads = new Map<string, AddonLoad<unknown>>();

/**
 * Loads native/build/<name>.node (native/build-asan/ when SHARDCAST_NATIVE_BUILD=asan) once, found
 * from src/ in tests and from dist/src/ in the built services, and refuses it when a constant it
 * was compiled with (its `layout` export) differs from `layout`, the TypeScript source of truth (C
 * and TypeScript would read each other's arrays wrong without failing), or when it is not the
 * build asked for.
 */
export function loadAddon<T extends WithLayout>(name: string, layout: Readonly<Record<string, number>>): AddonLoad<T> {
  let load = loads.get(name) as AddonLoad<T> | undefined;
  if (!load) loads.set(name, (load = loadOnce<T>(name, layout)));
  return load;
}

function loadOnce<T extends WithLayout>(name: string, layout: Readonly<Record<string, number>>): AddonLoad<T> {
  let build: NativeBuild;
  try {
    build = requestedNativeBuild();
  } catch (err) {
    return { error: (err as Error).message };
  }
  const file = `${name}.node`;
  const dir = BUILD_DIRS[build];
  const path = [resolve(__dirname, '..', 'native', dir, file), resolve(__dirname, '..', '..', 'native', dir, file)].find((p) => existsSync(p));
  if (!path) {
    const how = build === 'asan' ? 'bash libs/ingest-native/native/build.sh --sanitize builds it' : 'npm run build builds it with gcc; libs/ingest-native/native/build.sh says what it needs';
    return { error: `${dir}/${file} is not built (${how})` };
  }
  let addon: T;
  try {
    addon = require(path) as T;
  } catch (err) {
    return { error: `${path} does not load: ${(err as Error).message.split('\n')[0]}` };
  }
  if (addon.build !== build) return { error: `${path} is the ${addon.build ?? 'unknown'} build, not the ${build} build asked for: rebuild it` };
  const mismatch = layoutMismatch(addon.layout ?? {}, layout);
  return mismatch ? { error: `${path} was built with other constants than the TypeScript code (${mismatch}): rebuild it (npm run build)` } : { addon };
}

/** The constants that differ between what C exports and what TypeScript expects, or undefined. */
export function layoutMismatch(exported: Readonly<Record<string, number>>, expected: Readonly<Record<string, number>>): string | undefined {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(exported)])];
  const differing = names.filter((n) => exported[n] !== expected[n]).map((n) => `${n}: C ${exported[n] ?? 'none'}, TypeScript ${expected[n] ?? 'none'}`);
  return differing.length ? differing.join('; ') : undefined;
}
