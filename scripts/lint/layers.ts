/**
 * Enforces the layering `appliance → shared ← viewer` on the real import graph (resolved by esbuild, so
 * re-exports, dynamic imports and path tricks are all seen):
 *   - shared/ imports no Node built-in and only packages that run in a browser worker too;
 *   - appliance/ never imports viewer/, viewer/ never imports appliance/;
 *   - the renderer (viewer/src/) imports no Node built-in;
 *   - the protocol-neutral core of the appliance (NEUTRAL below) imports no protocol adapter
 *     (appliance/protocols/) and not the SQL classifier (appliance/sql/): adding a protocol must touch
 *     only its own folder and the registry.
 * DOM-only globals in shared/ are caught by typechecking shared/ without DOM or Node types (shared/tsconfig.json).
 *
 * Usage: node bin/run-ts.mjs scripts/lint/layers.ts [ROOT]   (exit 1 on a violation)
 */
import { build, type Metafile } from 'esbuild';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Packages shared/ may use: each must work unchanged in Node and in a browser worker. */
const SHARED_PACKAGES = new Set(['libsodium-wrappers-sumo', 'zod']);

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Folders of appliance/ that are the same for every protocol (docs/architecture.md, "Layers"). */
export const NEUTRAL = ['pipeline', 'policy', 'evidence', 'identity', 'approvals', 'admin', 'net', 'targets', 'metrics'];
/** What they must not import: the protocol adapters and the SQL-only code. */
const PROTOCOL_SPECIFIC = ['protocols', 'sql'];

/**
 * Imports from a neutral folder into protocol-specific code that are known and owned, as
 * `file -> imported file` (paths from the root). Each needs a TODO naming the work that removes it.
 */
const KNOWN_EXCEPTIONS = new Set<string>([]);

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

/** 'protocols' or 'sql' for appliance/<that>/…, the neutral folder's name for a neutral file, else undefined. */
function applianceFolder(file: string): string | undefined {
  const m = /^appliance\/([^/]+)\//.exec(file.split(sep).join('/'));
  return m?.[1];
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
  const found = violations(result.metafile);
  const seen = new Set(found.map((v) => `${v.file} -> ${v.imports}`));
  for (const v of neutralTypeImports(root)) if (!seen.has(`${v.file} -> ${v.imports}`)) found.push(v);
  return found;
}

/** The neutral-core rule for one import of `file` (paths from the root), or undefined when it is allowed. */
function neutralRule(file: string, imported: string): string | undefined {
  const [fromFolder, toFolder] = [applianceFolder(file), applianceFolder(imported)];
  if (!fromFolder || !toFolder || !NEUTRAL.includes(fromFolder) || !PROTOCOL_SPECIFIC.includes(toFolder)) return undefined;
  if (KNOWN_EXCEPTIONS.has(`${file} -> ${imported}`)) return undefined;
  return `appliance/${fromFolder}/ is protocol-neutral: it must not import appliance/${toFolder}/`;
}

/**
 * esbuild erases type-only imports before it resolves anything, yet a neutral file that takes its types
 * from an adapter depends on it all the same. So the neutral folders' sources are also read as text:
 * every `import … from '…'`, `export … from '…'` and `import('…')` with a relative path.
 */
function neutralTypeImports(root: string): Violation[] {
  const out: Violation[] = [];
  const specifier = /\b(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"]+)\1|\bimport\s*\(\s*(['"])([^'"]+)\3\s*\)/g;
  for (const folder of NEUTRAL) {
    for (const abs of sourceFiles(join(root, 'appliance', folder))) {
      const file = relative(root, abs).split(sep).join('/');
      const text = readFileSync(abs, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      for (const m of text.matchAll(specifier)) {
        const spec = m[2] ?? m[4]!;
        if (!spec.startsWith('.')) continue;
        const imported = relative(root, resolve(dirname(abs), spec)).split(sep).join('/');
        const rule = neutralRule(file, imported);
        if (rule) out.push({ file, imports: spec, rule });
      }
    }
  }
  return out;
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
      const neutral = neutralRule(file, imp.path);
      if (neutral) add(neutral);
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
  console.log('lint: layering ok (appliance → shared ← viewer; the neutral core imports no protocol)');
}
