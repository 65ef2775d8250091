/**
 * Opening the session on the target: TCP, TLS as the target's config asks (with CA and host name
 * verification for verify-full), then authentication with the credential only the appliance holds.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { VigilError } from '../../../shared/errors.ts';
import type { PostgresTarget } from './config.ts';
import { authenticateUpstream, requestUpstreamTls, toServer, type UpstreamSession } from './wire/index.ts';

export interface UpstreamConnection {
  socket: Socket;
  session: UpstreamSession;
  tls: string | undefined;
}

export async function connectUpstream(
  target: PostgresTarget,
  opts: { password: string | undefined; params: Record<string, string>; resolvePath: (p: string) => string },
): Promise<UpstreamConnection> {
  let socket = await tcp(target.host, target.port, target.connectTimeoutMs);
  let tls: string | undefined;
  try {
    if (target.tls.mode !== 'disable') {
      const accepted = await requestUpstreamTls(socket, target.connectTimeoutMs);
      if (!accepted) throw new VigilError('E_TARGET_TLS', `target ${target.name} does not offer TLS, and its config requires it`);
      const ca = target.tls.ca ? readFileSync(opts.resolvePath(target.tls.ca)) : undefined;
      const t = tlsConnect({
        socket,
        ...(ca ? { ca } : {}),
        servername: target.tls.serverName ?? target.host,
        rejectUnauthorized: target.tls.mode === 'verify-full',
      });
      await new Promise<void>((resolve, reject) => {
        t.once('secureConnect', resolve);
        t.once('error', (e) => reject(new VigilError('E_TARGET_TLS', `TLS to target ${target.name} failed: ${e.message}`)));
      });
      socket = t;
      tls = `${t.getProtocol() ?? 'TLS'} ${t.getCipher().standardName ?? t.getCipher().name}`;
    }
    const session = await authenticateUpstream(socket, {
      user: target.user,
      database: target.database,
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      params: opts.params,
      timeoutMs: target.connectTimeoutMs,
    });
    return { socket, session, tls };
  } catch (e) {
    socket.destroy();
    throw e;
  }
}

/** Sends a CancelRequest for the target's own backend key on a fresh connection. */
export async function cancelUpstream(target: PostgresTarget, key: { pid: number; secret: Buffer }): Promise<void> {
  const s = await tcp(target.host, target.port, target.connectTimeoutMs);
  await new Promise<void>((resolve) => s.end(toServer.cancelRequest(key.pid, key.secret), () => resolve()));
  s.destroy();
}

function tcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new VigilError('E_TARGET_DOWN', `no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(new VigilError('E_TARGET_DOWN', `cannot connect to ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
  });
}
