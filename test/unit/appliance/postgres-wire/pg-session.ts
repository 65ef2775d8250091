/** Small socket helpers for tests that talk to a real or fake PostgreSQL with the wire codec. */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  BackendReader,
  FrontendReader,
  toServer,
  type BackendMessage,
  type FrontendFrame,
} from '../../../../appliance/protocols/postgres/wire/index.ts';

export function connectTcp(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * Sends one simple Query on an authenticated socket and reads up to ReadyForQuery: rows as text (null for
 * NULL) and every decoded message. `leftover` is what authenticateUpstream returned.
 */
export async function simpleQuery(socket: Duplex, sql: string, leftover: Buffer = Buffer.alloc(0)): Promise<{ rows: (string | null)[][]; messages: BackendMessage[] }> {
  const messages = await roundTrip(socket, toServer.query(sql), leftover);
  const rows = messages.flatMap((m) => (m.type === 'D' ? [m.values.map((v) => (v === null ? null : v.toString('utf8')))] : []));
  return { rows, messages };
}

/** Writes `request` and reads decoded messages up to and including ReadyForQuery. */
export function roundTrip(socket: Duplex, request: Buffer, leftover: Buffer = Buffer.alloc(0)): Promise<BackendMessage[]> {
  const reader = new BackendReader();
  return new Promise((resolve, reject) => {
    const messages: BackendMessage[] = [];
    const onData = (chunk: Buffer) => {
      try {
        reader.push(chunk);
        for (let f = reader.next(); f; f = reader.next()) {
          const m = f.decode() as BackendMessage;
          messages.push(m);
          if (m.type === 'Z') {
            socket.off('data', onData);
            socket.pause();
            resolve(messages);
            return;
          }
        }
      } catch (e) {
        reject(e);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    if (leftover.length > 0) onData(leftover);
    socket.write(request);
    socket.resume();
  });
}

/** A scripted fake server: each connection gets `script`, which reads client frames and writes replies. */
export interface FakeConnection {
  socket: Socket;
  next(): Promise<FrontendFrame>;
  write(...messages: Buffer[]): void;
}

export async function fakeServer(script: (c: FakeConnection) => Promise<void>): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const reader = new FrontendReader();
    const queued: FrontendFrame[] = [];
    let waiting: ((f: FrontendFrame) => void) | undefined;
    socket.on('data', (chunk) => {
      reader.push(chunk);
      for (let f = reader.next(); f; f = reader.next()) {
        if (waiting) {
          const w = waiting;
          waiting = undefined;
          w(f);
        } else queued.push(f);
      }
    });
    socket.on('error', () => undefined);
    const conn: FakeConnection = {
      socket,
      next: () => new Promise((resolve) => (queued.length > 0 ? resolve(queued.shift()!) : (waiting = resolve))),
      write: (...messages) => socket.write(Buffer.concat(messages)),
    };
    void script(conn).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    server,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
