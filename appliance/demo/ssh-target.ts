/**
 * The SSH demo's target: Debian's own OpenSSH sshd on a free loopback port, run as the current user (an
 * sshd that is not root can log in only the user it runs as, which is all the demo needs), with its own
 * host key and a key Vigil logs in with. Nothing outside its new directory is touched. Absent sshd or
 * ssh-keygen, `findSshTools` says which is missing and the demo skips its SSH part.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

const SSHD = '/usr/sbin/sshd';

export interface DemoSshTarget {
  port: number;
  /** The account it logs in (the user running the demo). */
  user: string;
  /** `ssh-ed25519 AAAA…` of its host key, for Vigil's `hostKeys` pin. */
  hostKey: string;
  /**
   * sshd's TrustedUserCAKeys file, empty at start: the demo writes the appliance's target CA into it once
   * vigil init made it, so Vigil logs in with per-session certificates (sshd reads the file at each login).
   */
  trustedUserCaKeys: string;
  /** A directory the demo's commands work in. */
  home: string;
  stop(): Promise<void>;
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Why the SSH part cannot run here, or undefined when sshd, ssh and ssh-keygen are all present. */
export function missingSshTools(): string | undefined {
  const missing = [existsSync(SSHD) ? '' : SSHD, onPath('ssh') ? '' : 'ssh', onPath('ssh-keygen') ? '' : 'ssh-keygen'].filter(Boolean);
  return missing.length ? `${missing.join(', ')} not found (apt-get install openssh-server openssh-client; npm test installs them)` : undefined;
}

export function sshKeygen(path: string, comment: string): string {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${String(r.stderr)}`);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

export async function startDemoSshTarget(dir: string): Promise<DemoSshTarget> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const user = userInfo().username;
  const hostKey = sshKeygen(join(dir, 'host_ed25519'), 'demo-target-host').split(/\s+/).slice(0, 2).join(' ');
  // No authorized key for Vigil: it logs in with a certificate minted per session by its target CA.
  writeFileSync(join(dir, 'authorized_keys'), '', { mode: 0o600 });
  const trustedUserCaKeys = join(dir, 'trusted_user_ca_keys');
  writeFileSync(trustedUserCaKeys, '');
  const home = join(dir, 'srv');
  mkdirSync(home, { recursive: true });
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true }); // root's sshd wants its privilege-separation directory
  let log = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort(0);
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_ed25519')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `TrustedUserCAKeys ${trustedUserCaKeys}`,
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        `PermitRootLogin ${user === 'root' ? 'prohibit-password' : 'no'}`,
        `AllowUsers ${user}`,
        'Subsystem sftp internal-sftp',
        '',
      ].join('\n'),
    );
    const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d) => (log += String(d)));
    let exited = false;
    child.once('exit', () => (exited = true));
    for (let i = 0; i < 100 && !exited; i++) {
      if (await accepting(port)) {
        const stop = async () => {
          const gone = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await gone;
          rmSync(join(dir, 'sshd.pid'), { force: true });
        };
        return { port, user, hostKey, trustedUserCaKeys, home, stop };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
  }
  throw new Error(`the demo's sshd did not start: ${log.trim().slice(-500)}`);
}
