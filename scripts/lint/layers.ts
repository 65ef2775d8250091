/**
 * Enforces the layering `appliance → shared ← viewer` on the real import graph (resolved by esbuild, so
 * re-exports, dynamic imports and path tricks are all seen):
 *   - shared/ imports no Node built-in and only packages that run in a browser worker too;
 *   - appliance/ never imports viewer/, viewer/ never imports appliance/;
 *   - the renderer (viewer/src/) imports no Node built-in.
 * DOM-only globals in shared/ are caught by typechecking shared/ without DOM or Node types (shared/tsconfig.json).
 *
 * Usage: node bin/run-ts.mjs scripts/lint/layers.ts [ROOT]   (exit 1 on a violation)
 */
import { build, type Metafile } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';

/** Packages shared/ may use: each must work unchanged in Node and in a browser worker. */
const SHARED_PACKAGES = new Set(['libsodium-wrappers-sumo', 'zod']);

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

export interface Violation {
  file: string;
  imports: string;
  rule: string;
}

function sourceFiles(dir: string): string[] {
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(sourceFiles(p));
    else if (/\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function layerOf(file: string): 'shared' | 'appliance' | 'viewer-src' | 'viewer' | 'other' {
  const f = file.split(sep).join('/');
  if (f.startsWith('shared/')) return 'shared';
  if (f.startsWith('appliance/')) return 'appliance';
  if (f.startsWith('viewer/src/')) return 'viewer-src';
  if (f.startsWith('viewer/')) return 'viewer';
  return 'other';
}

export async function checkLayers(root: string): Promise<Violation[]> {
  const entryPoints = ['shared', 'appliance', 'viewer'].flatMap((d) => sourceFiles(join(root, d)));
  if (entryPoints.length === 0) return [];
  const result = await build({
    absWorkingDir: root,
    entryPoints,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'neutral',
    format: 'esm',
    packages: 'external',
    external: [...NODE_BUILTINS],
    outdir: join(root, '.lint-out'),
    logLevel: 'silent',
    loader: { '.wasm': 'empty', '.css': 'empty', '.png': 'empty', '.svg': 'empty' },
  });
  return violations(result.metafile);
}

function violations(meta: Metafile): Violation[] {
  const out: Violation[] = [];
  for (const [file, input] of Object.entries(meta.inputs)) {
    const from = layerOf(file);
    for (const imp of input.imports) {
      const spec = imp.original ?? imp.path;
      const add = (rule: string) => out.push({ file, imports: spec, rule });
      if (imp.external) {
        const builtin = NODE_BUILTINS.has(imp.path);
        if (from === 'shared' && builtin) add('shared/ must not import Node built-ins (it also runs in the browser)');
        else if (from === 'shared' && !SHARED_PACKAGES.has(packageName(imp.path)))
          add(`shared/ may only use browser-safe packages (${[...SHARED_PACKAGES].join(', ')})`);
        else if (from === 'viewer-src' && builtin) add('viewer/src/ is the renderer: no Node built-ins');
        continue;
      }
      const to = layerOf(imp.path);
      if (from === 'shared' && to !== 'shared') add('shared/ must not import appliance/ or viewer/');
      if (from === 'appliance' && (to === 'viewer' || to === 'viewer-src')) add('appliance/ must not import viewer/');
      if ((from === 'viewer' || from === 'viewer-src') && to === 'appliance') add('viewer/ must not import appliance/');
    }
  }
  return out;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename);
if (isMain) {
  const root = resolve(process.argv[2] ?? '.');
  const found = await checkLayers(root);
  if (found.length > 0) {
    for (const v of found) console.error(`${relative(root, v.file) || v.file}: imports '${v.imports}': ${v.rule}`);
    console.error(`lint: ${found.length} layering violation(s)`);
    process.exit(1);
  }
  console.log('lint: layering ok (appliance → shared ← viewer)');
}
