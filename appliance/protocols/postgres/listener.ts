/**
 * The PostgreSQL listener: a bounded listener (appliance/net/bounded-listener.ts) that gives PostgreSQL's
 * answers to admission's refusals and hands each admitted connection to connection.ts. Admission bounds
 * connections still authenticating per source address and in total, gives each a deadline, and keeps
 * authenticated sessions' capacity (maxConnections) apart.
 */
import type { SecureContext } from 'node:tls';
import { mtlsServerOptions } from '../../identity/index.ts';
import type { AdmissionRefusal } from '../../net/admission.ts';
import { BoundedListener } from '../../net/bounded-listener.ts';
import { serverSecureContext } from '../../net/tls.ts';
import { fatal } from './client-errors.ts';
import { handleConnection, type ConnectionDeps } from './connection.ts';

export type ListenerDeps = Omit<ConnectionDeps, 'secureContext'>;

export class PostgresListener {
  private readonly secureContext: SecureContext | undefined;
  private readonly bounded: BoundedListener;

  constructor(deps: ListenerDeps) {
    const l = deps.listener;
    if (l.tls) {
      const mtls = l.clientCertificates && deps.mtls ? mtlsServerOptions(deps.mtls, deps.resolvePath) : undefined;
      this.secureContext = serverSecureContext(l.tls, deps.resolvePath, mtls?.ca);
    }
    const connectionDeps: ConnectionDeps = { ...deps, secureContext: this.secureContext };
    this.bounded = new BoundedListener({
      name: 'postgres',
      address: l.address,
      limits: { maxAuthenticated: l.maxConnections, maxUnauthenticated: l.maxUnauthenticated, maxUnauthenticatedPerAddress: l.maxUnauthenticatedPerAddress, deadlineMs: l.authenticationTimeoutMs },
      logger: deps.logger,
      refuse: refusalFatal,
      handle: (socket, ticket) => handleConnection(socket, connectionDeps, ticket),
    });
  }

  get connections(): number {
    return this.bounded.connections;
  }

  /** Connections still authenticating and authenticated sessions, as admission counts them. */
  get admitted(): { unauthenticated: number; authenticated: number } {
    return this.bounded.admitted;
  }

  listen(): Promise<{ host: string; port: number }> {
    return this.bounded.listen();
  }

  /** Stops accepting; ends every connection (their sessions are sealed by their own close handlers). */
  stopAccepting(): void {
    this.bounded.stopAccepting();
  }

  close(): Promise<void> {
    return this.bounded.close();
  }
}

/**
 * A connection over an unauthenticated limit is refused before anything is read from it, so that a flood
 * costs no TLS handshake: FATAL 53300 in plaintext, naming the limit. A client that sent nothing or its
 * startup packet in plaintext shows the message; a TLS client reads it in place of the answer to its
 * SSLRequest, and libpq (which ignores server text during SSL negotiation, CVE-2024-10977) and
 * node-postgres then report only an error during the SSL exchange — the log names the limit.
 */
function refusalFatal(r: AdmissionRefusal): Buffer {
  const message =
    r.limit === 'per-address'
      ? `too many connections from ${r.address} waiting to authenticate to this Vigil listener (limit ${r.max}, listeners.postgres.${r.setting})`
      : `too many connections waiting to authenticate to this Vigil listener (limit ${r.max}, listeners.postgres.${r.setting})`;
  const hint = r.limit === 'per-address' ? 'open fewer connections at once from this host, or ask the Vigil operator to raise the limit' : 'retry shortly';
  return fatal('53300', message, hint);
}
