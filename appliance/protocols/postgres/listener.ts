/** The PostgreSQL listener: accepts connections, bounds them, and never lets one break another. */
import { createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { describeError } from '../../../shared/errors.ts';
import { mtlsServerOptions } from '../../identity/index.ts';
import { fatal } from './client-errors.ts';
import { handleConnection, type ConnectionDeps } from './connection.ts';

export type ListenerDeps = Omit<ConnectionDeps, 'secureContext'>;

export class PostgresListener {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly secureContext: SecureContext | undefined;

  constructor(private readonly deps: ListenerDeps) {
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

  listen(): Promise<{ host: string; port: number }> {
    const [host, port] = splitAddress(this.deps.listener.address);
    this.server = createServer({ noDelay: true, pauseOnConnect: true }, (s) => this.accept(s));
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => {
        const a = this.server!.address() as { address: string; port: number };
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  private accept(s: Socket): void {
    if (this.sockets.size >= this.deps.listener.maxConnections) {
      s.end(fatal('53300', 'too many connections to this Vigil listener'));
      return;
    }
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    handleConnection(s, { ...this.deps, secureContext: this.secureContext }).catch((e) => {
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
  }
}

export function splitAddress(a: string): [string, number] {
  const i = a.lastIndexOf(':');
  return [a.slice(0, i).replace(/^\[|\]$/g, ''), Number(a.slice(i + 1))];
}
