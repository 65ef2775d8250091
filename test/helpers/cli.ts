/** Runs the real `vigil` command (bin/vigil.mjs) as a user would. */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function vigil(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'vigil.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, VIGIL_PASSPHRASE: '', ...opts.env },
    input: opts.input ?? '',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a TypeScript script in a child process and resolves with the first JSON line it prints. */
export function startScript(file: string, args: string[]): Promise<{ pid: number; line: Record<string, unknown>; kill: (sig?: NodeJS.Signals) => Promise<void> }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'run-ts.mjs'), file, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      resolve({
        pid: child.pid!,
        line: JSON.parse(out.slice(0, nl)) as Record<string, unknown>,
        kill: (sig = 'SIGKILL') =>
          new Promise((done) => {
            child.once('exit', () => done());
            child.kill(sig);
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code} before it was ready: ${err}`)));
  });
}

/** Runs `vigil` without blocking this process (for tests whose gateway runs in-process). */
export function vigilAsync(args: string[], opts: { env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'vigil.mjs'), ...args], { cwd: ROOT, env: { ...process.env, VIGIL_PASSPHRASE: '', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end();
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
