/**
 * A TCP listener bounded by admission (admission.ts), protocol-neutral: every protocol adapter accepts
 * through one. It admits or refuses each connection before reading a byte of it, counts it until it
 * closes, contains a failing handler to its own connection, and ends every connection on close(). The
 * protocol supplies only what it says: the bytes of a refusal and the handling of an admitted connection
 * (which calls ticket.authenticate() once its client proved who it is). TLS is the protocol's business
 * (PostgreSQL negotiates it in-band); tls.ts builds the server context.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { describeError } from '../../shared/errors.ts';
import { Admission, type AdmissionLimits, type AdmissionRefusal, type AdmissionTicket } from './admission.ts';
import { AdmissionLog, type AdmissionLogger } from './admission-log.ts';
import { splitAddress } from './host-port.ts';

export interface BoundedListenerOptions {
  /** Names the listener in the log, e.g. 'postgres'. */
  name: string;
  /** HOST:PORT (net/host-port.ts). */
  address: string;
  limits: AdmissionLimits;
  logger: AdmissionLogger;
  /**
   * What a connection refused by admission is told, in the protocol's own words (or nothing). It is sent
   * before anything is read, so a flood costs no handshake; then the connection is closed.
   */
  refuse(refusal: AdmissionRefusal): string | Uint8Array | undefined;
  /** Runs one admitted connection; a rejection ends that connection only. */
  handle(socket: Socket, ticket: AdmissionTicket): Promise<void>;
}

/** How long a refused connection may stay open for its answer to be read before it is destroyed. */
const REFUSAL_LINGER_MS = 1_000;

export class BoundedListener {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly admission: Admission;
  private readonly admissionLog: AdmissionLog;

  constructor(private readonly options: BoundedListenerOptions) {
    this.admissionLog = new AdmissionLog(options.logger, { listener: options.name });
    this.admission = new Admission(options.limits, { onEvent: (e) => this.admissionLog.note(e) });
  }

  /** Open sockets, refused ones still lingering included. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Connections still authenticating and authenticated sessions, as admission counts them. */
  get admitted(): { unauthenticated: number; authenticated: number } {
    return { unauthenticated: this.admission.unauthenticated, authenticated: this.admission.authenticated };
  }

  listen(): Promise<{ host: string; port: number }> {
    const [host, port] = splitAddress(this.options.address);
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (s) => this.accept(s));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, backlog: listenBacklog(this.options.limits) }, () => {
        const a = server.address() as { address: string; port: number };
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** Stops accepting new connections; open ones go on (graceful shutdown drains them, then close()). */
  stopAccepting(): void {
    this.server?.close();
  }

  /** Stops accepting; ends every connection (their sessions are sealed by their own close handlers). */
  async close(): Promise<void> {
    // server.close() waits for every connection to end: stop accepting, then end them.
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    this.admissionLog.close();
  }

  private accept(s: Socket): void {
    s.on('error', () => undefined);
    this.sockets.add(s);
    const r = this.admission.admit(s.remoteAddress, () => s.destroy());
    if (!r.ok) {
      s.once('close', () => this.sockets.delete(s));
      this.refuseAtOnce(s, r.refusal);
      return;
    }
    const ticket = r.ticket;
    s.once('close', () => {
      this.sockets.delete(s);
      ticket.release();
    });
    this.options.handle(s, ticket).catch((e) => {
      this.options.logger.warn({ listener: this.options.name, err: describeError(e) }, `${this.options.name} connection handler failed`);
      s.destroy();
    });
  }

  /** What the client sends meanwhile is read and dropped, so that closing does not reset the connection before the answer is read. */
  private refuseAtOnce(s: Socket, r: AdmissionRefusal): void {
    const answer = this.options.refuse(r);
    if (answer === undefined) s.end();
    else s.end(answer);
    s.resume();
    const linger = setTimeout(() => s.destroy(), REFUSAL_LINGER_MS);
    s.once('close', () => clearTimeout(linger));
  }
}

/**
 * The kernel's queue of connections not yet accepted. Node's default (511) overflows under a burst, and
 * the kernel then drops new SYNs — legitimate ones too, which retry only after a second or more. Room for
 * every connection the limits allow, as PostgreSQL sizes its own (2 × max backends); the kernel caps it
 * at net.core.somaxconn (4096 on current Linux).
 */
function listenBacklog(l: AdmissionLimits): number {
  return Math.min(65_535, Math.max(511, l.maxAuthenticated + l.maxUnauthenticated));
}
