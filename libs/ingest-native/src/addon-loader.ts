import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** An addon ready to use, or why it cannot be (ingest then falls back, or refuses to start when told to use it). */
export type AddonLoad<T> = { addon: T; error?: undefined } | { addon?: undefined; error: string };

/** What every addon of this package exports besides its functions: the constants it was compiled with. */
interface WithLayout {
  layout: Record<string, number>;
}

const loads = new Map<string, AddonLoad<unknown>>();

/**
 * Loads native/build/<name>.node once (found from src/ in tests and from dist/src/ in the built
 * services), and refuses it when a constant it was compiled with (its `layout` export) differs
 * from `layout`, the TypeScript source of truth: C and TypeScript would read each other's arrays
 * wrong without failing.
 */
export function loadAddon<T extends WithLayout>(name: string, layout: Readonly<Record<string, number>>): AddonLoad<T> {
  let load = loads.get(name) as AddonLoad<T> | undefined;
  if (!load) loads.set(name, (load = loadOnce<T>(name, layout)));
  return load;
}

function loadOnce<T extends WithLayout>(name: string, layout: Readonly<Record<string, number>>): AddonLoad<T> {
  const file = `${name}.node`;
  const path = [resolve(__dirname, '..', 'native', 'build', file), resolve(__dirname, '..', '..', 'native', 'build', file)].find((p) => existsSync(p));
  if (!path) return { error: `${file} is not built (npm run build builds it with gcc; libs/ingest-native/native/build.sh says what it needs)` };
  let addon: T;
  try {
    addon = require(path) as T;
  } catch (err) {
    return { error: `${path} does not load: ${(err as Error).message.split('\n')[0]}` };
  }
  const mismatch = layoutMismatch(addon.layout ?? {}, layout);
  return mismatch ? { error: `${path} was built with other constants than the TypeScript code (${mismatch}): rebuild it (npm run build)` } : { addon };
}

/** The constants that differ between what C exports and what TypeScript expects, or undefined. */
export function layoutMismatch(exported: Readonly<Record<string, number>>, expected: Readonly<Record<string, number>>): string | undefined {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(exported)])];
  const differing = names.filter((n) => exported[n] !== expected[n]).map((n) => `${n}: C ${exported[n] ?? 'none'}, TypeScript ${expected[n] ?? 'none'}`);
  return differing.length ? differing.join('; ') : undefined;
}
