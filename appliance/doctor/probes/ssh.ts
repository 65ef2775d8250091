/**
 * An SSH target answers and presents a host key that hostKeys pins: the key exchange runs to the point
 * where the server proves its key, then the connection is dropped (no authentication is attempted).
 */
import ssh2 from 'ssh2';
import { createHash } from 'node:crypto';
import { keyPart, type SshTarget } from '../../protocols/ssh/config.ts';
import type { TargetProbe } from './probe.ts';

const fp = (blob: Buffer) => `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

export const sshProbe: TargetProbe = (target) => {
  const t = target as SshTarget;
  const pinned = new Set(t.hostKeys.map((l) => Buffer.from(keyPart(l).split(' ')[1] ?? '', 'base64').toString('base64')));
  const where = `${t.host}:${t.port}`;
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    let seen: string | undefined;
    let verdict: { status: 'pass' | 'fail'; detail: string; fix?: string } | undefined;
    const done = (r: { status: 'pass' | 'fail'; detail: string; fix?: string }) => {
      verdict ??= r;
      c.end();
      resolve(verdict);
    };
    c.on('error', (e) => done(seen && !pinned.has(seen) ? verdict! : { status: 'fail', detail: `${where}: ${e.message}`, fix: 'check the target host, port and firewall' }));
    c.on('handshake', () => done({ status: 'pass', detail: `${where} presents a pinned host key` }));
    c.connect({
      host: t.host,
      port: t.port,
      username: 'vigil-doctor',
      readyTimeout: t.connectTimeoutMs,
      hostVerifier: (key: Buffer) => {
        seen = key.toString('base64');
        if (pinned.has(seen)) return true;
        verdict = { status: 'fail', detail: `${where} presents host key ${fp(key)}, which hostKeys does not pin`, fix: `compare with ssh-keyscan ${t.host} on a trusted path; update hostKeys only if the key really changed` };
        return false;
      },
      // No method: the probe never authenticates.
      authHandler: (_methods: unknown, _partial: unknown, next: (m: false) => void) => next(false),
    } as unknown as ssh2.ConnectConfig);
  });
};
