/**
 * The SSH listener: a bounded listener (appliance/net/bounded-listener.ts) admits each TCP connection and
 * injects it into ssh2's Server (which then runs key exchange on it); admission's deadline bounds the time
 * to a proven identity. ssh2 reports a connection only after the client's identification line, so the
 * admitted socket is found again by its remote address and port.
 */
import type { Socket } from 'node:net';
import ssh2, { type Connection } from 'ssh2';
import type { AdmissionTicket } from '../../net/admission.ts';
import { PendingTickets } from '../../net/pending-tickets.ts';
import { BoundedListener } from '../../net/bounded-listener.ts';
import { UserCertificateAuthorities } from './cert-auth.ts';
import { AuthorizedKeys } from './client-auth.ts';
import { SshConnection, type SshConnectionDeps } from './connection.ts';
import { readHostKey } from './keys.ts';
import { TargetCertificateMinter } from './target-certificate.ts';

export type SshListenerDeps = Omit<SshConnectionDeps, 'keys' | 'certificates' | 'targetCertificates'> & { certificates?: UserCertificateAuthorities };

export class SshListener {
  private readonly bounded: BoundedListener;
  private readonly server: InstanceType<typeof ssh2.Server>;
  private readonly pending = new PendingTickets();

  constructor(deps: SshListenerDeps) {
    const l = deps.listener;
    const connectionDeps: SshConnectionDeps = {
      ...deps,
      keys: new AuthorizedKeys(l.authorizedKeys),
      targetCertificates: new TargetCertificateMinter(deps.resolvePath),
      // Another kind of CA (its own identity mapping) is passed in ready-made; the default maps the key id.
      certificates: deps.certificates ?? new UserCertificateAuthorities(l.userCertificateAuthorities),
    };
    const server = { hostKeys: [readHostKey(deps.resolvePath(l.hostKey))], ident: 'Vigil', keepaliveInterval: l.keepaliveIntervalSeconds * 1000, keepaliveCountMax: l.keepaliveCountMax };
    this.server = new ssh2.Server(server, (conn: Connection, info) => {
      const ticket = this.pending.take(info.ip, info.port);
      if (!ticket) return conn.end();
      new SshConnection(conn, `${info.ip}:${info.port}`, connectionDeps, ticket);
    });
    this.server.on('error', () => undefined);
    this.bounded = new BoundedListener({
      name: 'ssh',
      address: l.address,
      limits: { maxAuthenticated: l.maxConnections, maxUnauthenticated: l.maxUnauthenticated, maxUnauthenticatedPerAddress: l.maxUnauthenticatedPerAddress, deadlineMs: l.authenticationTimeoutMs },
      logger: deps.logger,
      // SSH has no way to explain a refusal before its own handshake: the connection is just closed.
      refuse: () => undefined,
      handle: (socket, ticket) => this.inject(socket, ticket),
    });
  }

  private inject(socket: Socket, ticket: AdmissionTicket): Promise<void> {
    this.pending.hold(socket, ticket);
    socket.setNoDelay(true);
    this.server.injectSocket(socket);
    socket.resume();
    return Promise.resolve();
  }

  get connections(): number {
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

  close(): Promise<void> {
    return this.bounded.close();
  }
}
