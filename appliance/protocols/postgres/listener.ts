/**
 * The PostgreSQL listener: accepts connections, bounds them, and never lets one break another. Admission
 * (appliance/net/admission.ts) bounds connections still authenticating per source address and in total,
 * gives each a deadline, and keeps authenticated sessions' capacity (maxConnections) apart; this file
 * gives PostgreSQL's answers to its refusals.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { describeError } from '../../../shared/errors.ts';
import { mtlsServerOptions } from '../../identity/index.ts';
import { Admission, type AdmissionRefusal } from '../../net/admission.ts';
import { AdmissionLog } from '../../net/admission-log.ts';
import { fatal } from './client-errors.ts';
import { handleConnection, type ConnectionDeps } from './connection.ts';

export type ListenerDeps = Omit<ConnectionDeps, 'secureContext'>;

export class PostgresListener {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly secureContext: SecureContext | undefined;
  private readonly admission: Admission;
  private readonly admissionLog: AdmissionLog;

  constructor(private readonly deps: ListenerDeps) {
    const l = deps.listener;
    this.admissionLog = new AdmissionLog(deps.logger, { listener: 'postgres' });
    this.admission = new Admission(
      { maxAuthenticated: l.maxConnections, maxUnauthenticated: l.maxUnauthenticated, maxUnauthenticatedPerAddress: l.maxUnauthenticatedPerAddress, deadlineMs: l.authenticationTimeoutMs },
      { onEvent: (e) => this.admissionLog.note(e) },
    );
    const tls = deps.listener.tls;
    if (tls) {
      const mtls = deps.listener.clientCertificates && deps.mtls ? mtlsServerOptions(deps.mtls, deps.resolvePath) : {};
      this.secureContext = createSecureContext({
        cert: readFileSync(deps.resolvePath(tls.cert)),
        key: readFileSync(deps.resolvePath(tls.key)),
        minVersion: 'TLSv1.2',
        ...('ca' in mtls ? { ca: mtls.ca } : {}),
      });
    }
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Connections still authenticating and authenticated sessions, as admission counts them. */
  get admitted(): { unauthenticated: number; authenticated: number } {
    return { unauthenticated: this.admission.unauthenticated, authenticated: this.admission.authenticated };
  }

  listen(): Promise<{ host: string; port: number }> {
    const [host, port] = splitAddress(this.deps.listener.address);
    this.server = createServer({ noDelay: true, pauseOnConnect: true }, (s) => this.accept(s));
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen({ port, host, backlog: listenBacklog(this.deps.listener) }, () => {
        const a = this.server!.address() as { address: string; port: number };
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  private accept(s: Socket): void {
    s.on('error', () => undefined);
    this.sockets.add(s);
    const r = this.admission.admit(s.remoteAddress, () => s.destroy());
    if (!r.ok) {
      s.once('close', () => this.sockets.delete(s));
      refuseAtOnce(s, r.refusal);
      return;
    }
    const ticket = r.ticket;
    s.once('close', () => {
      this.sockets.delete(s);
      ticket.release();
    });
    handleConnection(s, { ...this.deps, secureContext: this.secureContext }, ticket).catch((e) => {
      this.deps.logger.warn({ err: describeError(e) }, 'connection handler failed');
      s.destroy();
    });
  }

  /** Stops accepting; ends every connection (their sessions are sealed by their own close handlers). */
  async close(): Promise<void> {
    // server.close() waits for every connection to end: stop accepting, then end them.
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    this.admissionLog.close();
  }
}

/**
 * The kernel's queue of connections not yet accepted. Node's default (511) overflows under a burst, and
 * the kernel then drops new SYNs — legitimate ones too, which retry only after a second or more. Room for
 * every connection the limits allow, as PostgreSQL sizes its own (2 × max backends); the kernel caps it
 * at net.core.somaxconn (4096 on current Linux).
 */
function listenBacklog(l: ListenerDeps['listener']): number {
  return Math.min(65_535, Math.max(511, l.maxConnections + l.maxUnauthenticated));
}

/** How long a refused connection may stay open for its FATAL to be read before it is destroyed. */
const REFUSAL_LINGER_MS = 1_000;

/**
 * Refuses a connection over an unauthenticated limit before reading anything from it, so that a flood
 * costs no TLS handshake: FATAL 53300 in plaintext, naming the limit. A client that sent nothing or its
 * startup packet in plaintext shows the message; a TLS client reads it in place of the answer to its
 * SSLRequest, and libpq (which ignores server text during SSL negotiation, CVE-2024-10977) and
 * node-postgres then report only an error during the SSL exchange — the log names the limit. What the client sends meanwhile is read and dropped, so that
 * closing does not reset the connection before the client has read the FATAL.
 */
function refuseAtOnce(s: Socket, r: AdmissionRefusal): void {
  const message =
    r.limit === 'per-address'
      ? `too many connections from ${r.address} waiting to authenticate to this Vigil listener (limit ${r.max}, listeners.postgres.${r.setting})`
      : `too many connections waiting to authenticate to this Vigil listener (limit ${r.max}, listeners.postgres.${r.setting})`;
  const hint = r.limit === 'per-address' ? 'open fewer connections at once from this host, or ask the Vigil operator to raise the limit' : 'retry shortly';
  s.end(fatal('53300', message, hint));
  s.resume();
  const linger = setTimeout(() => s.destroy(), REFUSAL_LINGER_MS);
  s.once('close', () => clearTimeout(linger));
}

export function splitAddress(a: string): [string, number] {
  const i = a.lastIndexOf(':');
  return [a.slice(0, i).replace(/^\[|\]$/g, ''), Number(a.slice(i + 1))];
}
