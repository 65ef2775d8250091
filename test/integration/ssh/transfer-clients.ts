/**
 * The real OpenSSH `sftp`, `scp` and `rsync -e ssh` clients through a gateway fixture (ssh-gateway.ts),
 * pinned to the gateway's host key with the bot's key, for the transfer tests.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { SshGatewayFixture } from '../../helpers/ssh-gateway.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function sshOptions(f: SshGatewayFixture): string[] {
  return ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${join(f.dir, 'known_hosts')}`, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'ConnectTimeout=10', '-i', f.botKey];
}

export function run(cmd: string, args: string[], input = ''): Promise<Run> {
  return new Promise((resolve) => {
    // Its own process group: scp and rsync start ssh, which would keep the pipes open past a kill of the client alone.
    const child = spawn(cmd, args, { detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(input);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, Number(process.env['CLIENT_TIMEOUT'] ?? 60_000));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** `sftp -b -` with the batch on stdin (a line starting with `-` may fail without ending the batch). */
export function sftpBatch(f: SshGatewayFixture, user: string, batch: string): Promise<Run> {
  return run('sftp', [...(process.env['SFTP_V'] ? ['-vvv'] : []), ...sshOptions(f), '-P', String(f.port), '-b', '-', `${user}@127.0.0.1`], batch);
}

/** `scp` (SFTP mode, OpenSSH's default) or `scp -O` (the legacy scp protocol, an exec of `scp -t/-f`). */
export function scp(f: SshGatewayFixture, from: string | string[], to: string, legacy = false, extra: string[] = []): Promise<Run> {
  return run('scp', [...(legacy ? ['-O'] : []), ...extra, ...sshOptions(f), '-P', String(f.port), ...(Array.isArray(from) ? from : [from]), to]);
}

export function rsync(f: SshGatewayFixture, args: string[]): Promise<Run> {
  const e = ['ssh', ...sshOptions(f), '-p', String(f.port)].join(' ');
  return run('rsync', ['-e', e, ...args]);
}
