/**
 * A TCP relay between a real client and a real server that records every chunk in both directions, in
 * arrival order. With `reframe`, it forwards what FrontendReader and BackendReader frame (each frame's raw
 * bytes) instead of the chunks, as the gateway will. replay() feeds a recording through the readers.
 */
import { connect, createServer, type Socket } from 'node:net';
import {
  BackendReader,
  FrontendReader,
  type BackendFrame,
  type FrontendFrame,
} from '../../../../appliance/protocols/postgres/wire/index.ts';

export interface Chunk {
  from: 'client' | 'server';
  bytes: Buffer;
}

export interface Relay {
  port: number;
  /** One recording per client connection, in order of connection. */
  recordings: Chunk[][];
  /** Per connection, settles once both of its sockets closed (the recording is then complete). */
  closed: Promise<void>[];
  close(): Promise<void>;
}

export async function startRecordingRelay(upstreamPort: number, options: { reframe?: boolean } = {}): Promise<Relay> {
  const recordings: Chunk[][] = [];
  const closed: Promise<void>[] = [];
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const server = createServer((client) => {
    const log: Chunk[] = [];
    recordings.push(log);
    const upstream = connect({ port: upstreamPort, host: '127.0.0.1' });
    track(client);
    track(upstream);
    const gone = (s: Socket) => new Promise<void>((resolve) => s.once('close', () => resolve()));
    closed.push(Promise.all([gone(client), gone(upstream)]).then(() => undefined));
    const front = new FrontendReader();
    const back = new BackendReader();
    client.on('data', (bytes) => {
      log.push({ from: 'client', bytes: Buffer.from(bytes) });
      if (!options.reframe) return void upstream.write(bytes);
      try {
        front.push(bytes);
        for (let f = front.next(); f; f = front.next()) {
          if (f.type === 'ssl' || f.type === 'gssenc') back.expectEncryptionResponse();
          upstream.write(f.raw);
        }
      } catch {
        client.destroy(); // a protocol error: the recording shows what caused it
      }
    });
    upstream.on('data', (bytes) => {
      log.push({ from: 'server', bytes: Buffer.from(bytes) });
      if (!options.reframe) return void client.write(bytes);
      try {
        back.push(bytes);
        for (let f = back.next(); f; f = back.next()) client.write(f.raw);
      } catch {
        upstream.destroy();
      }
    });
    client.once('end', () => upstream.end());
    upstream.once('end', () => client.end());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    recordings,
    closed,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A frame with its place in the conversation (both directions share one sequence). */
export type Step = { seq: number; from: 'client'; frame: FrontendFrame } | { seq: number; from: 'server'; frame: BackendFrame };

export interface Replay {
  steps: Step[];
  client: FrontendFrame[];
  server: BackendFrame[];
  /** Number of bytes that arrived per direction, and how many chunks. */
  stats: { clientBytes: number; serverBytes: number; clientChunks: number; serverChunks: number };
}

export function replay(recording: readonly Chunk[]): Replay {
  const front = new FrontendReader();
  const back = new BackendReader();
  const steps: Step[] = [];
  const stats = { clientBytes: 0, serverBytes: 0, clientChunks: 0, serverChunks: 0 };
  let seq = 0;
  for (const { from, bytes } of recording) {
    if (from === 'client') {
      stats.clientBytes += bytes.length;
      stats.clientChunks++;
      front.push(bytes);
      for (let f = front.next(); f; f = front.next()) {
        steps.push({ seq: seq++, from, frame: f });
        // The server answers SSLRequest / GSSENCRequest with one untyped byte.
        if (f.type === 'ssl' || f.type === 'gssenc') back.expectEncryptionResponse();
      }
    } else {
      stats.serverBytes += bytes.length;
      stats.serverChunks++;
      back.push(bytes);
      for (let f = back.next(); f; f = back.next()) steps.push({ seq: seq++, from, frame: f });
    }
  }
  if (front.buffered !== 0 || back.buffered !== 0) throw new Error(`unframed bytes left: client ${front.buffered}, server ${back.buffered}`);
  return {
    steps,
    client: steps.flatMap((s) => (s.from === 'client' ? [s.frame] : [])),
    server: steps.flatMap((s) => (s.from === 'server' ? [s.frame] : [])),
    stats,
  };
}
