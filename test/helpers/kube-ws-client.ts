/**
 * A raw WebSocket client for Vigil's Kubernetes listener (what a hostile or unusual client can send that
 * kubectl never would): any method, path and query, any subprotocol offer, and then any frames — built on
 * the appliance's own framing (client role, masked frames) over a TLS socket the test controls, so a test
 * can also write bytes after a close frame.
 */
import { connect, type TLSSocket } from 'node:tls';
import { WsConnection } from '../../appliance/protocols/kubernetes/websocket.ts';
import { newClientKey } from '../../appliance/protocols/kubernetes/websocket.ts';

export interface RawWs {
  /** The HTTP status line's code (101 when upgraded). */
  status: number;
  /** The response head and, when not upgraded, its body. */
  response: string;
  protocol: string;
  socket: TLSSocket;
  ws?: WsConnection;
  /** Binary messages received, in order. */
  messages: Buffer[];
  closed: Promise<{ code: number; reason: string }>;
  /** stdout (1) and stderr (2) bytes received so far, joined. */
  channel(n: number): string;
}

export function rawWebSocket(o: { port: number; ca: string; token: string; method?: string; path: string; protocols?: string[]; extraHeaders?: string }): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: o.port, ca: o.ca, ALPNProtocols: ['http/1.1'] }, () => {
      socket.write(
        `${o.method ?? 'GET'} ${o.path} HTTP/1.1\r\nHost: 127.0.0.1:${o.port}\r\nAuthorization: Bearer ${o.token}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${newClientKey()}\r\nSec-WebSocket-Protocol: ${(o.protocols ?? ['v5.channel.k8s.io']).join(', ')}\r\n${o.extraHeaders ?? ''}\r\n`,
      );
    });
    socket.on('error', reject);
    let head = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      head = Buffer.concat([head, c]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const text = head.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      if (status !== 101) {
        // Not upgraded: read the rest of the response (the server closes after it).
        const rest: Buffer[] = [head.subarray(end + 4)];
        socket.off('data', onData);
        socket.on('data', (b: Buffer) => rest.push(b));
        socket.on('close', () => resolve({ status, response: `${text}\r\n\r\n${Buffer.concat(rest).toString('utf8')}`, protocol: '', socket, messages: [], closed: Promise.resolve({ code: 0, reason: '' }), channel: () => '' }));
        return;
      }
      socket.off('data', onData);
      const messages: Buffer[] = [];
      let closeResolve!: (v: { code: number; reason: string }) => void;
      const closed = new Promise<{ code: number; reason: string }>((r) => (closeResolve = r));
      const ws = new WsConnection(socket, 'client', { message: (_b, d) => messages.push(d), close: (code, reason) => closeResolve({ code, reason }), error: () => undefined }, 64 * 1024 * 1024, head.subarray(end + 4));
      const protocol = /^sec-websocket-protocol:\s*(.*)$/im.exec(text)?.[1]?.trim() ?? '';
      const channel = (n: number) => Buffer.concat(messages.filter((m) => m[0] === n).map((m) => m.subarray(1))).toString('utf8');
      resolve({ status, response: text, protocol, socket, ws, messages, closed, channel });
    };
    socket.on('data', onData);
  });
}
