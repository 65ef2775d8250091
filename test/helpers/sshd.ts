/**
 * A throwaway OpenSSH sshd (Debian's /usr/sbin/sshd) on a free loopback port, as ../shared/RECIPES.md
 * describes: its own host key, one login user (`vigiltest`, made if missing — tests run as root), and a
 * client key pair for that user, which tests give Vigil as the target credential. stop() kills it and
 * deletes the directory (also at process exit, if a test forgot).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';
export const SSH_USER = 'vigiltest';

export interface SshdServer {
  port: number;
  dir: string;
  /** `ssh-ed25519 AAAA…` of the server's host key (what a pinned `hostKeys` entry holds). */
  hostKey: string;
  /** The private key that logs in as SSH_USER (give it to Vigil as the target credential). */
  userKeyPath: string;
  /** A directory SSH_USER can write to, for marker files. */
  scratch: string;
  /** sshd's TrustedUserCAKeys file, empty at start: a test writes CA lines to it (read at each login). */
  trustedUserCaKeys: string;
  log(): string;
  stop(): Promise<void>;
}

/** Makes an unencrypted Ed25519 key pair at `path` (and `path.pub`) with the real ssh-keygen. */
export function sshKeygen(path: string, comment = 'test'): string {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${String(r.stderr)}`);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

function ensureUser(): void {
  if (spawnSync('id', [SSH_USER]).status === 0) return;
  const r = spawnSync('useradd', ['-m', '-s', '/bin/bash', SSH_USER]);
  if (r.status !== 0) throw new Error(`useradd ${SSH_USER} failed (tests with sshd run as root): ${String(r.stderr)}`);
  // A locked account ('!') makes sshd refuse even public keys when UsePAM is no.
  spawnSync('usermod', ['-p', '*', SSH_USER]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

export async function startSshd(): Promise<SshdServer> {
  ensureUser();
  mkdirSync('/run/sshd', { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'vigil-sshd-'));
  chmodSync(dir, 0o755);
  const hostKey = sshKeygen(join(dir, 'host_ed25519'), 'target-host').split(/\s+/).slice(0, 2).join(' ');
  const userKeyPath = join(dir, 'user_ed25519');
  sshKeygen(userKeyPath, 'vigil-to-target');
  mkdirSync(join(dir, 'keys'));
  copyFileSync(`${userKeyPath}.pub`, join(dir, 'keys', SSH_USER));
  chmodSync(join(dir, 'keys'), 0o755);
  const scratch = join(dir, 'scratch');
  mkdirSync(scratch);
  chmodSync(scratch, 0o777);
  const trustedUserCaKeys = join(dir, 'trusted_user_ca_keys');
  writeFileSync(trustedUserCaKeys, '');
  let log = '';
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    writeFileSync(
      join(dir, 'sshd_config'),
      `Port ${port}\nListenAddress 127.0.0.1\nHostKey ${dir}/host_ed25519\nPidFile ${dir}/sshd.pid\nAuthorizedKeysFile ${dir}/keys/%u\nStrictModes no\n` +
        `PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin no\nAllowUsers ${SSH_USER}\nSubsystem sftp internal-sftp\nAcceptEnv LC_* VIGIL_TEST_*\n` +
        `TrustedUserCAKeys ${trustedUserCaKeys}\n`,
    );
    const c = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr!.on('data', (d) => (log += String(d)));
    let exited = false;
    c.once('exit', () => (exited = true));
    for (let i = 0; i < 100 && !exited; i++) {
      if (await accepting(port)) {
        child = c;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!child) c.kill('SIGKILL');
  }
  if (!child) throw new Error(`sshd did not start: ${log}`);
  const running = child;
  const cleanup = () => {
    running.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  return {
    port,
    dir,
    hostKey,
    userKeyPath,
    scratch,
    trustedUserCaKeys,
    log: () => log,
    stop: async () => {
      process.removeListener('exit', cleanup);
      const gone = new Promise((r) => running.once('exit', r));
      running.kill('SIGTERM');
      await gone;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
