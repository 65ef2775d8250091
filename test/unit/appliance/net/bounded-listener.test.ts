/**
 * The protocol-neutral TCP listener every adapter builds on: admission limits on real sockets, the protocol's
 * own refusal bytes sent before anything is read, deadlines, a failing handler that harms no one else, close.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BoundedListener, type BoundedListenerOptions } from '../../../../appliance/net/bounded-listener.ts';

interface Client {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
}

function client(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.on('data', (d) => (data += d));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

async function until(ok: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const warnings: string[] = [];
const logger = { warn: (_o: object, msg: string) => void warnings.push(msg), info: () => undefined };
let listener: BoundedListener | undefined;

async function start(o: Partial<BoundedListenerOptions> = {}): Promise<number> {
  listener = new BoundedListener({
    name: 'echo',
    address: '127.0.0.1:0',
    limits: { maxAuthenticated: 10, maxUnauthenticated: 10, maxUnauthenticatedPerAddress: 2, deadlineMs: 60_000 },
    logger,
    refuse: (r) => `REFUSED ${r.limit} ${r.max}\n`,
    handle: async (s, ticket) => {
      s.resume();
      s.write(ticket.authenticate() ? 'hello\n' : 'full\n');
    },
    ...o,
  });
  return (await listener.listen()).port;
}

afterEach(async () => {
  await listener?.close();
  listener = undefined;
  warnings.length = 0;
});

describe('BoundedListener', () => {
  it('hands admitted connections to the protocol and counts them', async () => {
    const port = await start();
    const a = await client(port);
    await until(() => a.received() === 'hello\n', 'the handler answered');
    expect(listener!.admitted).toEqual({ unauthenticated: 0, authenticated: 1 });
    expect(listener!.connections).toBe(1);
    a.socket.destroy();
    await until(() => listener!.connections === 0 && listener!.admitted.authenticated === 0, 'the closed connection was released');
  });

  it('refuses a connection over the per-address limit with the protocol\'s bytes, before reading from it', async () => {
    const port = await start({ handle: async (s) => void s.resume() }); // never authenticates: stays waiting
    const held = [await client(port), await client(port)];
    await until(() => listener!.admitted.unauthenticated === 2, 'two connections wait');
    const third = await client(port);
    await third.closed;
    expect(third.received()).toBe('REFUSED per-address 2\n');
    expect(warnings).toContain('connection refused: too many unauthenticated connections from its address');
    for (const h of held) expect(h.socket.destroyed).toBe(false);
  });

  it('ends a connection that does not authenticate by its deadline', async () => {
    const port = await start({ limits: { maxAuthenticated: 10, maxUnauthenticated: 10, maxUnauthenticatedPerAddress: 2, deadlineMs: 100 }, handle: async (s) => void s.resume() });
    const a = await client(port);
    await a.closed;
    expect(listener!.admitted).toEqual({ unauthenticated: 0, authenticated: 0 });
  });

  it('a handler that throws ends only its own connection, and says so in the log', async () => {
    let n = 0;
    const port = await start({
      handle: async (s, ticket) => {
        s.resume();
        if (n++ === 0) throw new Error('boom');
        ticket.authenticate();
        s.write('hello\n');
      },
    });
    const bad = await client(port);
    await bad.closed;
    const good = await client(port);
    await until(() => good.received() === 'hello\n', 'the next connection is served');
    expect(warnings).toContain('echo connection handler failed');
  });

  it('close() stops accepting and ends every open connection', async () => {
    const port = await start();
    const a = await client(port);
    await until(() => a.received() === 'hello\n', 'the handler answered');
    await listener!.close();
    await a.closed;
    await expect(client(port)).rejects.toThrow(/ECONNREFUSED/);
  });
});
