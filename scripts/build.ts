/**
 * Builds the appliance: the TypeScript of appliance/ and shared/ bundled by esbuild into one plain
 * JavaScript file that runs with `node` alone, with the packages that cannot be bundled copied beside it:
 *   dist/vigil/vigil.js            the `vigil` command (ESM, Node 20)
 *   dist/vigil/node_modules/…      native addons (better-sqlite3, sodium-native, ssh2 + cpu-features),
 *                                  packages that load their own files at run time (PGlite's WebAssembly and
 *                                  data, libpg-query's WebAssembly, pino) and their dependencies
 *   dist/vigil/BUILD.json          version, git commit and build time (also stamped into vigil.js)
 *
 * Usage: npm run build   (or: node bin/run-ts.mjs scripts/build.ts [--out DIR])
 * The native addons are the ones compiled for this machine's Node (node_modules): build on the platform
 * and Node major you ship to.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const out = resolve(values.out ?? join(root, 'dist', 'vigil'));

/** Not bundled: native addons, and packages that find their own files relative to themselves at run time. */
export const EXTERNAL = ['better-sqlite3', 'sodium-native', 'ssh2', '@electric-sql/pglite', '@electric-sql/pglite-socket', 'libpg-query', 'pino'];
/** Dependencies of those used only when installing or compiling them, never at run time. */
const BUILD_TIME_ONLY = new Set(['prebuild-install', 'nan', 'buildcheck']);

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; engines: Record<string, string> };
let commit: string;
try {
  commit = git('rev-parse', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '-dirty' : '');
} catch {
  commit = 'unknown (not built from a git checkout)';
}
const info = { version: pkg.version, commit, builtAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), node: process.version };

const started = Date.now();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'appliance', 'cli', 'main.ts')],
  outfile: join(out, 'vigil.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // pg's optional native binding is never used.
  external: [...EXTERNAL, 'pg-native'],
  define: { __VIGIL_BUILD__: JSON.stringify({ version: info.version, commit: info.commit, builtAt: info.builtAt }) },
  // Bundled CommonJS packages (pg, …) call require(); an ES module has none unless it is made.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __vigilCreateRequire } from 'node:module';\nconst require = __vigilCreateRequire(import.meta.url);" },
  legalComments: 'linked',
  logLevel: 'warning',
});

/** The run-time dependency closure of the external packages, as they are installed in node_modules. */
function closure(names: string[]): string[] {
  const seen = new Set<string>();
  const todo = [...names];
  while (todo.length) {
    const name = todo.pop()!;
    if (seen.has(name) || BUILD_TIME_ONLY.has(name)) continue;
    const dir = join(root, 'node_modules', name);
    if (!existsSync(join(dir, 'package.json'))) {
      throw new Error(`${name} is not installed in node_modules (run npm ci)`);
    }
    seen.add(name);
    const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const d of Object.keys(p.dependencies ?? {})) todo.push(d);
    // Optional ones only when present (cpu-features for ssh2).
    for (const d of Object.keys(p.optionalDependencies ?? {})) if (existsSync(join(root, 'node_modules', d, 'package.json'))) todo.push(d);
  }
  return [...seen].sort();
}

const platform = `${process.platform}-${process.arch}`;
const packages = closure(EXTERNAL);
for (const name of packages) {
  const from = join(root, 'node_modules', name);
  cpSync(from, join(out, 'node_modules', name), {
    recursive: true,
    dereference: true,
    filter: (src) => {
      const rel = relative(from, src);
      const b = basename(src);
      if (rel === '') return true;
      // Packages' own tests, docs and type declarations are not needed to run.
      if (['test', 'tests', 'benchmarks', 'docs', 'example', 'examples'].includes(rel) || b.endsWith('.d.ts') || b.endsWith('.d.mts') || b.endsWith('.d.cts') || (b.endsWith('.md') && !/^licen[cs]e/i.test(b))) return false;
      // Compiler outputs and sources of the addons, other platforms' prebuilt addons, source maps.
      if (b === 'obj' || b === 'obj.target' || b.endsWith('.a') || b.endsWith('.map') || b === 'test_extension.node') return false;
      if (name === 'better-sqlite3' && (rel === 'deps' || rel === 'src' || rel === join('build', 'deps'))) return false;
      if (rel.startsWith(`prebuilds${'/'}`) && rel.split('/').length === 2 && statSync(src).isDirectory() && b !== platform) return false;
      return true;
    },
  });
}
writeFileSync(join(out, 'package.json'), JSON.stringify({ name: 'vigil', version: info.version, private: true, type: 'module', engines: { node: pkg.engines['node'] }, bin: { vigil: 'vigil.js' } }, null, 2) + '\n');
writeFileSync(join(out, 'BUILD.json'), JSON.stringify({ ...info, platform, external: packages }, null, 2) + '\n');
execFileSync('chmod', ['0755', join(out, 'vigil.js')]);
const size = execFileSync('du', ['-sh', out], { encoding: 'utf8' }).split('\t')[0];
process.stdout.write(`built ${relative(process.cwd(), out) || out}: vigil ${info.version} (commit ${info.commit}) for ${platform}, ${size}, ${packages.length} packages beside it, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
