/**
 * The Kubernetes listener: a bounded listener (appliance/net/bounded-listener.ts) admits each TCP
 * connection; TLS with the appliance's certificate (and, with clientCertificates, a request for a client
 * certificate judged by the identity layer) is set up on it, and an HTTP/1.1 server serves the requests
 * of that connection (connection.ts). Admission's deadline bounds the time to the first request with a
 * valid identity.
 */
import { createServer, ServerResponse, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { describeError } from '../../../shared/errors.ts';
import { mtlsServerOptions, type JwtVerifierRegistry, type MtlsConfig } from '../../identity/index.ts';
import type { AdmissionTicket } from '../../net/admission.ts';
import { PendingTickets } from '../../net/pending-tickets.ts';
import { BoundedListener } from '../../net/bounded-listener.ts';
import type { SessionPipeline } from '../../pipeline/session.ts';
import type { KubernetesListenerConfig } from './config.ts';
import { KubeConnection, type KubeConnectionDeps } from './connection.ts';
import { sendStatus } from './status.ts';
import type { KubeUpstream } from './upstream.ts';

export interface KubeListenerDeps extends KubeConnectionDeps {
  resolvePath: (p: string) => string;
  logger: { info(o: object, msg: string): void; warn(o: object, msg: string): void; debug?(o: object, msg: string): void };
}

export class KubeListener {
  private readonly bounded: BoundedListener;
  private readonly http: Server;
  private readonly connections = new WeakMap<object, KubeConnection>();
  /**
   * Never listens: admitted sockets are handed to it, so that Node's own server-side TLS runs on them
   * (it judges the client certificate's chain into socket.authorized, which a hand-made TLSSocket does not).
   */
  private readonly tlsServer: TlsServer;
  /** Admitted sockets whose TLS handshake is under way, by remote address and port. */
  private readonly pending = new PendingTickets();

  constructor(private readonly deps: KubeListenerDeps) {
    const l = deps.listener;
    const mtls = l.clientCertificates && deps.mtls ? mtlsServerOptions(deps.mtls, deps.resolvePath) : undefined;
    this.tlsServer = createTlsServer(
      {
        cert: readFileSync(deps.resolvePath(l.tls.cert)),
        key: readFileSync(deps.resolvePath(l.tls.key)),
        minVersion: 'TLSv1.2',
        ALPNProtocols: ['http/1.1'],
        ...(mtls ? { ca: mtls.ca, requestCert: true, rejectUnauthorized: false } : {}),
      },
      (tls) => this.secured(tls),
    );
    this.tlsServer.on('tlsClientError', (_e, tls) => tls.destroy());
    this.http = createServer({ keepAliveTimeout: l.keepAliveTimeoutMs, headersTimeout: Math.min(60_000, l.authenticationTimeoutMs * 6), requestTimeout: 0 }, (req, res) => {
      const conn = this.connections.get(req.socket);
      if (!conn) {
        req.resume();
        return sendStatus(res, 500, 'no connection state', { connection: 'close' });
      }
      conn.handle(req, res).catch((e) => {
        deps.logger.warn({ err: describeError(e) }, 'Kubernetes request handler failed');
        sendStatus(res, 500, 'Vigil failed to handle this request (logged)');
      });
    });
    this.http.on('clientError', (_e, socket) => socket.destroy());
    // Exec, attach and port-forward ask for an upgrade (WebSocket or SPDY): decided and recorded like any
    // request (upgrade.ts); a refusal before the upgrade is an HTTP response on the socket.
    this.http.on('upgrade', (req, socket, head: Buffer) => {
      const conn = this.connections.get(req.socket);
      const res = new ServerResponse(req);
      res.assignSocket(socket as Socket);
      res.shouldKeepAlive = false;
      res.once('finish', () => socket.end());
      if (!conn) return sendStatus(res, 500, 'no connection state');
      conn.handle(req, res, { socket, head }).catch((e) => {
        deps.logger.warn({ err: describeError(e) }, 'Kubernetes upgrade handler failed');
        sendStatus(res, 500, 'Vigil failed to handle this request (logged)');
      });
    });
    this.bounded = new BoundedListener({
      name: 'kubernetes',
      address: l.address,
      limits: { maxAuthenticated: l.maxConnections, maxUnauthenticated: l.maxUnauthenticated, maxUnauthenticatedPerAddress: l.maxUnauthenticatedPerAddress, deadlineMs: l.authenticationTimeoutMs },
      logger: deps.logger,
      // Nothing can be said before the TLS handshake: the connection is closed.
      refuse: () => undefined,
      handle: (socket, ticket) => this.accept(socket, ticket),
    });
  }

  private accept(socket: Socket, ticket: AdmissionTicket): Promise<void> {
    socket.setNoDelay(true);
    this.pending.hold(socket, ticket);
    this.tlsServer.emit('connection', socket);
    socket.resume();
    return Promise.resolve();
  }

  /** The handshake is done: the connection (one session) and its HTTP/1.1 requests. */
  private secured(tls: TLSSocket): void {
    const ticket = this.pending.take(tls.remoteAddress, tls.remotePort);
    if (!ticket) return void tls.destroy();
    tls.on('error', () => tls.destroy());
    this.connections.set(tls, new KubeConnection(tls, this.deps, ticket));
    this.http.emit('connection', tls);
  }

  get connectionCount(): number {
    return this.bounded.connections;
  }

  get admitted(): { unauthenticated: number; authenticated: number } {
    return this.bounded.admitted;
  }

  listen(): Promise<{ host: string; port: number }> {
    return this.bounded.listen();
  }

  stopAccepting(): void {
    this.bounded.stopAccepting();
  }

  async close(): Promise<void> {
    await this.bounded.close();
    this.http.closeAllConnections();
  }
}
