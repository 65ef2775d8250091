/**
 * A TCP forwarder on 127.0.0.1 that a test can cut, to partition one process from a server while others
 * still reach it. `cut('reset')` destroys every connection (both ends see it at once); `cut('blackhole')`
 * keeps the sockets open but forwards nothing (the server still believes the client is there — a silent
 * partition); new connections are then held open without forwarding. `restore()` forwards again (new
 * connections only: a blackholed one stays dead).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  cut(how: 'reset' | 'blackhole'): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let mode: 'open' | 'reset' | 'blackhole' = 'open';
  const pairs = new Set<[Socket, Socket | undefined]>();
  const server: Server = createServer((client) => {
    client.on('error', () => undefined);
    if (mode === 'reset') return void client.destroy();
    if (mode === 'blackhole') {
      pairs.add([client, undefined]);
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    // Closes travel through only while open: behind a silent partition each side keeps believing in the other.
    upstream.on('error', () => mode === 'open' && client.destroy());
    client.on('close', () => mode === 'open' && upstream.destroy());
    upstream.on('close', () => mode === 'open' && client.destroy());
    const pair: [Socket, Socket | undefined] = [client, upstream];
    pairs.add(pair);
    client.on('data', (d) => mode === 'open' && upstream.write(d));
    upstream.on('data', (d) => mode === 'open' && client.write(d));
    client.on('close', () => pairs.delete(pair));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    cut(how) {
      mode = how;
      if (how === 'reset') for (const [a, b] of pairs) (a.destroy(), b?.destroy());
      if (how === 'blackhole') for (const [a, b] of pairs) (a.pause(), b?.pause());
    },
    restore() {
      // Blackholed connections stay dead (as after a real partition, their peers time them out).
      for (const [a, b] of pairs) if (a.isPaused()) (a.destroy(), b?.destroy());
      mode = 'open';
    },
    close: () =>
      new Promise((r) => {
        for (const [a, b] of pairs) (a.destroy(), b?.destroy());
        server.close(() => r());
      }),
  };
}
