/**
 * `npm run build:viewer`: the renderer with Vite into viewer/dist/renderer, the Electron main process and
 * preload with esbuild into viewer/dist/electron, and viewer/dist/package.json — the app directory
 * electron-builder packages (electron-builder.yml: directories.app = viewer/dist). The app directory has
 * no dependencies: everything the app runs is bundled.
 *
 * Usage: node bin/run-ts.mjs viewer/build.ts [--renderer-only]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { build as viteBuild } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
export const VIEWER_DIST = join(here, 'dist');

export async function buildRenderer(): Promise<void> {
  await viteBuild({ configFile: join(here, 'vite.config.ts'), logLevel: 'warn' });
}

export async function buildElectron(): Promise<void> {
  const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node22', external: ['electron'] as string[], logLevel: 'warning', legalComments: 'none' } as const;
  await esbuild({ ...common, entryPoints: [join(here, 'electron/main.ts')], outfile: join(VIEWER_DIST, 'electron/main.cjs') });
  // Sandboxed preloads run in a restricted CommonJS environment: only `electron` may be required.
  await esbuild({ ...common, entryPoints: [join(here, 'electron/preload.ts')], outfile: join(VIEWER_DIST, 'electron/preload.cjs') });
  const root = JSON.parse(readFileSync(join(here, '../package.json'), 'utf8')) as { version: string; license?: string };
  mkdirSync(VIEWER_DIST, { recursive: true });
  writeFileSync(join(VIEWER_DIST, 'package.json'), JSON.stringify(appPackageJson(root.version, root.license), null, 2) + '\n');
}

/** The packaged app's package.json: names the bundled main process; no dependencies (all is bundled). */
export function appPackageJson(version: string, license = 'UNLICENSED') {
  return {
    name: 'vigil-evidence-viewer',
    productName: 'Vigil Evidence Viewer',
    version,
    description: 'Offline verifier and replay for Vigil evidence bundles',
    author: 'Vigil',
    license,
    main: 'electron/main.cjs',
  };
}

export async function buildViewer(opts: { electron?: boolean } = {}): Promise<void> {
  await buildRenderer();
  if (opts.electron ?? true) await buildElectron();
}

const isMain = process.argv[1] && resolve(process.argv[1]) === resolve(fileURLToPath(import.meta.url));
if (isMain) {
  const t0 = performance.now();
  await buildViewer({ electron: !process.argv.includes('--renderer-only') });
  console.log(`viewer built in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${VIEWER_DIST}`);
}
