/**
 * What this `vigil` is: the version and git commit stamped in by scripts/build.ts (esbuild `define`), or,
 * when run from a checkout through tsx, the package version and "source checkout" — never the checkout's
 * current commit, which need not be what is running.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BuildInfo {
  version: string;
  /** git commit the bundle was built from (with "-dirty" when the tree had uncommitted changes). */
  commit: string;
  builtAt: string;
}

declare const __VIGIL_BUILD__: BuildInfo | undefined;

/** Set only in a built bundle (dist/vigil/vigil.js, the .deb). */
export const BUILD: BuildInfo | undefined = typeof __VIGIL_BUILD__ === 'undefined' ? undefined : __VIGIL_BUILD__;

export function versionLine(): string {
  if (BUILD) return `vigil ${BUILD.version} (commit ${BUILD.commit}, built ${BUILD.builtAt})`;
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return `vigil ${pkg.version} (source checkout, not a build: run scripts/build.sh for a stamped bundle)`;
}

/** How to type this command in the hints it prints: `vigil` when installed/built, `npx vigil` in a checkout. */
export const VIGIL_COMMAND = BUILD ? 'vigil' : 'npx vigil';

/** argv prefix that runs this same `vigil` again (a child process of the demo, for instance). */
export function selfCommand(): string[] {
  if (BUILD) return [process.execPath, process.argv[1]!];
  return [process.execPath, join(import.meta.dirname, '..', 'bin', 'vigil.mjs')];
}
