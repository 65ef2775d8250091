/**
 * A PostgreSQL target answers, and with TLS as configured: SSLRequest, then a TLS handshake verified against
 * tls.ca and the host name (verify-full), or merely encrypted (require). No credential is sent.
 */
import { connect as tcp, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { PostgresTarget } from '../../protocols/postgres/config.ts';
import type { TargetProbe } from './probe.ts';

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

function open(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcp({ host, port });
    const t = setTimeout(() => s.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

export const postgresProbe: TargetProbe = async (target, resolvePath) => {
  const t = target as PostgresTarget;
  const where = `${t.host}:${t.port}`;
  const s = await open(t.host, t.port, t.connectTimeoutMs);
  try {
    if (t.tls.mode === 'disable') return { status: 'pass', detail: `${where} accepts connections (tls.mode disable: the link to the target is not encrypted)` };
    s.write(SSL_REQUEST);
    const answer = await new Promise<string>((resolve, reject) => {
      s.once('data', (d: Buffer) => resolve(String.fromCharCode(d[0]!)));
      s.once('error', reject);
      setTimeout(() => reject(new Error('no answer to SSLRequest')), t.connectTimeoutMs);
    });
    if (answer !== 'S') return { status: 'fail', detail: `${where} refuses TLS (answered ${JSON.stringify(answer)} to SSLRequest) but tls.mode is ${t.tls.mode}`, fix: 'turn ssl on in the target\'s postgresql.conf' };
    const verify = t.tls.mode === 'verify-full';
    const sock = tlsConnect({
      socket: s,
      host: t.tls.serverName ?? t.host, // the name the certificate is checked for
      ...(isIP(t.tls.serverName ?? t.host) ? {} : { servername: t.tls.serverName ?? t.host }),
      rejectUnauthorized: verify,
      ...(verify && t.tls.ca ? { ca: readFileSync(resolvePath(t.tls.ca)) } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('secureConnect', () => resolve());
      sock.once('error', reject);
    });
    const proto = sock.getProtocol();
    sock.destroy();
    return verify
      ? { status: 'pass', detail: `${where}: ${proto}, certificate verified against ${t.tls.ca} for ${t.tls.serverName ?? t.host}` }
      : { status: 'pass', detail: `${where}: ${proto} (tls.mode require: encrypted, the certificate is not verified)` };
  } finally {
    s.destroy();
  }
};
