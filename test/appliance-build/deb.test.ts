/**
 * The .deb as an operator installs it: scripts/build-deb.sh, inspected with dpkg-deb, installed with
 * `dpkg -i` into this very system (tests run as root in CI), the vigil user and directories checked, the
 * installed unit verified by systemd-analyze, `vigil init` + the unit's ExecStartPre/ExecStart (+ `vigil doctor`) run as the
 * vigil user without capabilities (systemd is not PID 1 here: see docs/operations.md), then purged.
 * Refuses (fails, never skips) when not root or when a vigil package, user or /var/lib/vigil already exists.
 * Cleans up after itself even when a step fails. ≈ 25 s (most of it building and gzipping the package).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../appliance/demo/free-port.ts';
import { ROOT } from '../helpers/cli.ts';
import { tempDir } from '../helpers/evidence.ts';
import { cleanEnv, headCommit, run, startServing } from '../helpers/built.ts';

const SCORE_LIMIT = 1.5; // docs/operations.md states the score (1.2) and this threshold

let work = '';
let deb = '';
let installedByUs = false;
let userCreatedByUs = false;
let dataCreatedByUs = false;

function sh(cmd: string, args: string[], cwd = '/') {
  return run(cmd, args, { cwd, env: cleanEnv(), timeout: 120_000 });
}

function owner(path: string): string {
  return execFileSync('stat', ['-c', '%U:%G %a', path], { encoding: 'utf8' }).trim();
}

beforeAll(() => {
  if (process.getuid?.() !== 0) {
    throw new Error('deb.test.ts must run as root: it installs the package into this system with dpkg -i (CI runs tests as root). Run it as root, or leave it out explicitly.');
  }
  const status = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'vigil'], { encoding: 'utf8' });
  if (status.status === 0 && status.stdout.includes('installed') && !status.stdout.includes('not-installed')) {
    throw new Error(`a vigil package is already installed here (${status.stdout}); this test will not replace a real installation`);
  }
  if (spawnSync('getent', ['passwd', 'vigil']).status === 0) throw new Error('a vigil user already exists here; this test will not reuse or delete it');
  if (existsSync('/var/lib/vigil')) throw new Error('/var/lib/vigil already exists here; this test will not touch it');
  work = tempDir('vigil-deb-');
  chmodSync(work, 0o755); // the vigil user reads the auditor key from here
  deb = execFileSync('sh', [join(ROOT, 'scripts', 'build-deb.sh'), work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 }).trim();
}, 200_000);

afterAll(() => {
  // Whatever happened above: leave the system as it was.
  if (installedByUs) spawnSync('dpkg', ['--purge', 'vigil'], { stdio: 'ignore' });
  if (dataCreatedByUs) rmSync('/var/lib/vigil', { recursive: true, force: true });
  if (userCreatedByUs) {
    spawnSync('userdel', ['vigil'], { stdio: 'ignore' });
    spawnSync('groupdel', ['vigil'], { stdio: 'ignore' });
  }
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('the vigil .deb', () => {
  it('is a dpkg-deb package with the bundle, the wrapper, the unit and maintainer scripts', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const info = sh('dpkg-deb', ['-I', deb]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/^ Package: vigil$/m);
    expect(info.stdout).toMatch(new RegExp(`^ Version: ${pkg.version.replace(/\./g, '\\.')}$`, 'm'));
    expect(info.stdout).toMatch(/^ Depends: nodejs \(>= 20\.19\), adduser$/m);
    expect(info.stdout).toContain(`Built from commit ${headCommit()}`);
    for (const s of ['postinst', 'prerm', 'postrm', 'conffiles']) expect(info.stdout).toMatch(new RegExp(`\\s${s}\\s`));
    const list = sh('dpkg-deb', ['-c', deb]);
    expect(list.code).toBe(0);
    const entry = (path: string) => list.stdout.split('\n').find((l) => l.endsWith(` ${path}`)) ?? `missing: ${path}`;
    expect(entry('./usr/bin/vigil')).toMatch(/^-rwxr-xr-x root\/root /);
    expect(entry('./usr/lib/vigil/vigil.js')).toMatch(/^-rwxr-xr-x root\/root /);
    expect(entry('./lib/systemd/system/vigil.service')).toMatch(/^-rw-r--r-- root\/root /);
    expect(entry('./etc/vigil/vigil.env')).toMatch(/^-rw-r----- root\/root /);
    expect(entry('./usr/lib/vigil/node_modules/better-sqlite3/build/Release/better_sqlite3.node')).toMatch(/^-rw/);
    const paths = list.stdout.split('\n').map((l) => l.split(' ').pop() ?? '');
    // No TypeScript of ours (node_modules keeps a few packages' own type-test files).
    expect(paths.filter((p) => /\.(ts|mts|tsx)$/.test(p) && !p.includes('/node_modules/'))).toEqual([]);
    expect(paths.filter((p) => p.includes('/tsx/') || p.includes('/typescript/') || p.includes('/vitest/'))).toEqual([]);
    expect(paths.filter((p) => p.startsWith('./var/'))).toEqual([]); // /var/lib/vigil is made by postinst, owned by the vigil user
  });

  it('installs with dpkg -i: vigil system user, /etc/vigil and /var/lib/vigil with their owners and modes, vigil --version', () => {
    const r = sh('dpkg', ['-i', deb]);
    installedByUs = true;
    userCreatedByUs = true;
    dataCreatedByUs = true;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('runuser -u vigil -- vigil init --dir /var/lib/vigil');
    const [name, , uid, , , home, shell] = execFileSync('getent', ['passwd', 'vigil'], { encoding: 'utf8' }).trim().split(':');
    expect(name).toBe('vigil');
    expect(Number(uid)).toBeLessThan(1000); // a system user
    expect(home).toBe('/var/lib/vigil');
    expect(shell).toBe('/usr/sbin/nologin');
    expect(owner('/etc/vigil')).toBe('root:vigil 750');
    expect(owner('/etc/vigil/vigil.env')).toBe('root:vigil 640');
    expect(owner('/var/lib/vigil')).toBe('vigil:vigil 700');
    expect(owner('/usr/bin/vigil')).toBe('root:root 755');
    const v = sh('/usr/bin/vigil', ['--version']);
    expect(v.stderr).toBe('');
    expect(v.stdout).toMatch(new RegExp(`^vigil \\S+ \\(commit ${headCommit()}(-dirty)?, built `));
  });

  it('the installed unit passes systemd-analyze verify, and its exposure score is below the stated limit', () => {
    const unit = '/lib/systemd/system/vigil.service';
    const verify = sh('systemd-analyze', ['verify', unit]);
    expect(verify.stdout + verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    const sec = sh('systemd-analyze', ['security', '--offline=true', '--no-pager', unit]);
    const score = Number(/Overall exposure level for vigil\.service: ([\d.]+)/.exec(sec.stdout)?.[1]);
    expect(score, sec.stdout.slice(-400)).toBeLessThan(SCORE_LIMIT);
  });

  it('vigil init, then the unit ExecStartPre and ExecStart, run as the vigil user with no capability', async () => {
    const vigilAs = ['--reuid=vigil', '--regid=vigil', '--init-groups', '--no-new-privs', '--bounding-set=-all', '--inh-caps=-all'];
    const keys = sh('/usr/bin/vigil', ['keys', 'auditor', '--out', join(work, 'alice')]);
    expect(keys.code).toBe(0);
    chmodSync(join(work, 'alice.pub'), 0o644);
    const init = sh('runuser', ['-u', 'vigil', '--', 'vigil', 'init', '--dir', '/var/lib/vigil', '--auditor', join(work, 'alice.pub')]);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(owner('/var/lib/vigil/vigil.yaml')).toMatch(/^vigil:vigil 6[04]0$/);
    expect(owner('/var/lib/vigil/keys')).toMatch(/^vigil:vigil 700$/);
    // Free ports instead of the defaults (another test on this machine may hold 6432/2222/8443).
    const config = '/var/lib/vigil/vigil.yaml';
    const ports = { pg: await freePort(0), ssh: await freePort(0), admin: await freePort(0) };
    writeFileSync(
      config,
      readFileSync(config, 'utf8')
        .replace('127.0.0.1:6432', `127.0.0.1:${ports.pg}`)
        .replace('127.0.0.1:2222', `127.0.0.1:${ports.ssh}`)
        .replace('127.0.0.1:8443', `127.0.0.1:${ports.admin}`),
    );
    const unit = readFileSync('/lib/systemd/system/vigil.service', 'utf8');
    const line = (key: string) => (new RegExp(`^${key}=(.+)$`, 'm').exec(unit)?.[1] ?? '').split(' ');
    const pre = line('ExecStartPre');
    expect(pre).toEqual(['/usr/bin/vigil', 'recover', '--config', config]);
    const recovered = sh('setpriv', [...vigilAs, ...pre]);
    expect(recovered.stderr).toBe('');
    expect(recovered.stdout).toBe('nothing to recover: no archive was left open\n');
    const start = line('ExecStart');
    expect(start).toEqual(['/usr/bin/vigil', 'serve', '--config', config]);
    const served = await startServing('setpriv', [...vigilAs, ...start], { cwd: '/' });
    const end = await served.stop('SIGTERM');
    expect(served.line).toContain(`admin API on https://127.0.0.1:${ports.admin}`);
    expect(end.code).toBe(0);
    expect(statSync('/var/lib/vigil/data').uid).toBe(Number(execFileSync('id', ['-u', 'vigil'], { encoding: 'utf8' })));
    // vigil doctor, as the service user, on the installed appliance: nothing fails (what this container cannot
    // show, the clock's synchronisation and heartbeat offsets, is unknown, not passed).
    const doctor = sh('setpriv', [...vigilAs, '/usr/bin/vigil', 'doctor', '--config', config, '--json']);
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    const report = JSON.parse(doctor.stdout) as { counts: { fail: number }; results: { check: string; status: string }[] };
    expect(report.counts.fail).toBe(0);
    for (const c of ['config', 'file-modes', 'signing-key', 'auditor-keys', 'trust-file', 'disk-space', 'fsync']) {
      expect(report.results.find((r) => r.check === c)?.status, c).toMatch(c === 'fsync' ? /^(pass|unknown)$/ : /^pass$/);
    }
  });

  it('purges: program, unit and /etc/vigil gone; the evidence in /var/lib/vigil and the user are kept, and it says so', () => {
    const r = sh('dpkg', ['--purge', 'vigil']);
    expect(r.code).toBe(0);
    installedByUs = false;
    expect(r.stdout).toContain('kept /var/lib/vigil (evidence and keys) and the vigil user');
    for (const p of ['/usr/bin/vigil', '/usr/lib/vigil', '/lib/systemd/system/vigil.service', '/etc/vigil']) expect(existsSync(p), p).toBe(false);
    expect(existsSync('/var/lib/vigil/vigil.yaml')).toBe(true);
  });
});
