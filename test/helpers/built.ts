/** The built appliance (scripts/build.sh → vigil.js + node_modules beside it), run with plain `node`. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { CliResult } from './cli.ts';
import { ROOT } from './cli.ts';

/** Builds the bundle into `out` (≈ 1.5 s); returns what the script printed. */
export function buildBundle(out: string): string {
  return execFileSync('sh', [join(ROOT, 'scripts', 'build.sh'), '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
}

/** The git commit the build must name (what HEAD is now). */
export function headCommit(): string {
  return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
}

/** Environment of a fresh shell: no tsx loader, no NODE_PATH, nothing of the checkout. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', HOME: process.env['HOME'] ?? '/root', LANG: 'C.UTF-8', VIGIL_PASSPHRASE: '' };
  return { ...env, ...extra };
}

export function run(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string>; timeout?: number }): CliResult {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, encoding: 'utf8', env: opts.env ?? cleanEnv(), input: '', timeout: opts.timeout ?? 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface Served {
  line: string;
  stop: (sig?: NodeJS.Signals) => Promise<{ code: number | null; stderr: string }>;
}

/** Starts `argv` and resolves once stdout says it is serving; rejects if it exits first. */
export function startServing(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<Served> {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr: err })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not serving within 30 s: ${out}${err}`));
    }, 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (!out.includes('vigil: serving')) return;
      clearTimeout(timer);
      resolve({
        line: out.trim(),
        stop: (sig = 'SIGTERM') => {
          if (child.exitCode === null) child.kill(sig);
          return exited;
        },
      });
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before serving: ${out}${err}`));
    });
  });
}
