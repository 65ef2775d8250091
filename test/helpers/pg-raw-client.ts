/**
 * A deliberately low-level PostgreSQL client for protocol tests: sends exactly the bytes a test wants
 * (including malformed ones) and collects every message the gateway answers with.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { BackendReader, toServer, type BackendMessage } from '../../appliance/protocols/postgres/wire/index.ts';

export interface RawClient {
  socket: Socket;
  messages: BackendMessage[];
  send(b: Buffer): void;
  /** Resolves when a message of `type` arrives (or rejects on close/timeout). */
  waitFor(type: string, timeoutMs?: number): Promise<BackendMessage>;
  closed: Promise<void>;
  close(): void;
}

export async function rawConnect(port: number, o: { tls?: boolean } = {}): Promise<RawClient> {
  let socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  if (o.tls) {
    socket.write(toServer.sslRequest());
    const answer: Buffer = await new Promise((resolve) => socket.once('data', resolve));
    if (answer.toString() !== 'S') throw new Error(`server refused TLS: ${answer.toString()}`);
    socket = await new Promise((resolve, reject) => {
      const t = tlsConnect({ socket, rejectUnauthorized: false }, () => resolve(t));
      t.once('error', reject);
    });
  }
  return wrap(socket);
}

export function wrap(socket: Socket): RawClient {
  const reader = new BackendReader();
  const messages: BackendMessage[] = [];
  const waiters: { type: string; resolve: (m: BackendMessage) => void }[] = [];
  let done!: () => void;
  const closed = new Promise<void>((r) => (done = r));
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    for (let f = reader.next(); f; f = reader.next()) {
      const m = f.decode() as BackendMessage;
      messages.push(m);
      for (const w of [...waiters]) {
        if (w.type === m.type) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    }
  });
  socket.on('close', () => done());
  socket.on('error', () => done());
  return {
    socket,
    messages,
    send: (b) => socket.write(b),
    waitFor(type, timeoutMs = 10_000) {
      const seen = messages.find((m) => m.type === type);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms; got ${messages.map((m) => m.type).join(',')}`)), timeoutMs);
        closed.then(() => setTimeout(() => reject(new Error(`closed before ${type}; got ${messages.map((m) => m.type).join(',')}`)), 50));
        waiters.push({
          type,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    closed,
    close: () => socket.destroy(),
  };
}

/** Startup + token login over TLS, up to ReadyForQuery. */
export async function rawLogin(port: number, token: string, params: Record<string, string> = {}, minor = 0): Promise<RawClient> {
  const c = await rawConnect(port, { tls: true });
  c.send(toServer.startupMessage({ user: 'raw-bot', database: 'payments', ...params }, minor));
  await c.waitFor('R');
  c.send(toServer.passwordMessage(token));
  await c.waitFor('Z');
  return c;
}

export function errorFields(m: BackendMessage | undefined): Map<string, string> {
  if (!m || m.type !== 'E') throw new Error(`expected an ErrorResponse, got ${m?.type}`);
  return m.fields;
}
