/**
 * Vigil's side of the API server: one keep-alive HTTPS agent per target, verifying the server against the
 * cluster CA, presenting Vigil's client certificate or its bearer token (read from the file at each
 * request, so a rotated service-account token is picked up). The credential itself never leaves this
 * module: errors name the files, never their contents.
 */
import { readFileSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { VigilError } from '../../../shared/errors.ts';
import type { KubernetesTarget } from './config.ts';
import { acceptKey, newClientKey } from './websocket.ts';

/** Methods whose empty body needs no Content-Length (Node sends none for them either). */
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

export type UpstreamUpgrade = { upgraded: true; socket: Duplex; head: Buffer; protocol: string } | { upgraded: false; response: IncomingMessage };

export class KubeUpstream {
  private readonly agent: Agent;
  private readonly base: URL;

  constructor(
    readonly target: KubernetesTarget,
    private readonly resolvePath: (p: string) => string,
  ) {
    this.base = new URL(target.server);
    const c = target.credential;
    const read = (p: string, what: string) => {
      try {
        return readFileSync(resolvePath(p));
      } catch (e) {
        throw new VigilError('E_CONFIG', `target ${target.name}: cannot read ${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    };
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 256,
      ca: read(target.ca, 'the cluster CA'),
      ...('clientCertificate' in c ? { cert: read(c.clientCertificate.cert, 'the client certificate'), key: read(c.clientCertificate.key, 'the client key') } : {}),
      ...(target.tlsServerName ? { servername: target.tlsServerName } : {}),
      minVersion: 'TLSv1.2',
    });
  }

  /** Where the evidence says the credential comes from (never what it is). */
  get credentialRef(): string {
    const c = this.target.credential;
    return 'clientCertificate' in c ? `client-certificate:${c.clientCertificate.cert}` : `token-file:${c.tokenFile}`;
  }

  private bearer(): string | undefined {
    const c = this.target.credential;
    if (!('tokenFile' in c)) return undefined;
    let token: string;
    try {
      token = readFileSync(this.resolvePath(c.tokenFile), 'utf8').trim();
    } catch (e) {
      throw new VigilError('E_KUBE_CREDENTIAL', `target ${this.target.name}: cannot read the token file ${c.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (!token) throw new VigilError('E_KUBE_CREDENTIAL', `target ${this.target.name}: the token file ${c.tokenFile} is empty`);
    return token;
  }

  /** Sends one request (`path` with its query, relative to the API server); resolves at the response headers. */
  send(method: string, path: string, headers: OutgoingHttpHeaders, body: Buffer, signal: AbortSignal): Promise<IncomingMessage> {
    const token = this.bearer();
    const prefix = this.base.pathname.replace(/\/+$/, '');
    const opts: RequestOptions = {
      agent: this.agent,
      host: this.base.hostname.replace(/^\[|\]$/g, ''),
      port: this.base.port || 443,
      method,
      path: `${prefix}${path}`,
      // No Content-Length (and no body write) for an empty body: the headers then go out in one TLS write,
      // not a writev of two buffers (a fifth of the gateway's CPU per GET in a profile).
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body.length > 0 || !BODYLESS.has(method) ? { 'content-length': body.length } : {}) },
      signal,
      timeout: this.target.connectTimeoutMs,
    };
    return new Promise((resolve, reject) => {
      const req = request(opts, (res) => {
        req.setTimeout(0);
        resolve(res);
      });
      req.on('timeout', () => req.destroy(new VigilError('E_KUBE_UPSTREAM', `target ${this.target.name}: no answer from the API server within ${this.target.connectTimeoutMs} ms`)));
      req.on('error', reject);
      if (body.length > 0) req.end(body);
      else req.end();
    });
  }

  /**
   * Opens a WebSocket to the API server (`path` with its query): resolves with the upgraded socket once it
   * answered 101 with the key's accept value and one of the `protocols`, or with its (non-101) response.
   */
  upgrade(path: string, headers: OutgoingHttpHeaders, protocols: readonly string[], signal: AbortSignal, spdy = false): Promise<UpstreamUpgrade> {
    const token = this.bearer();
    const prefix = this.base.pathname.replace(/\/+$/, '');
    const key = newClientKey();
    // SPDY (exec/attach for a SPDY client): POST, `Upgrade: SPDY/3.1`, the protocol in X-Stream-Protocol-Version.
    const transport = spdy
      ? { connection: 'Upgrade', upgrade: 'SPDY/3.1', 'x-stream-protocol-version': [...protocols] }
      : { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': key, 'sec-websocket-protocol': protocols.join(', ') };
    const opts: RequestOptions = {
      agent: this.agent,
      host: this.base.hostname.replace(/^\[|\]$/g, ''),
      port: this.base.port || 443,
      method: spdy ? 'POST' : 'GET',
      path: `${prefix}${path}`,
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}), ...transport, ...(spdy ? { 'content-length': 0 } : {}) },
      signal,
      timeout: this.target.connectTimeoutMs,
    };
    return new Promise((resolve, reject) => {
      const req = request(opts);
      req.on('upgrade', (res, socket, head) => {
        req.setTimeout(0);
        const protocol = String(res.headers[spdy ? 'x-stream-protocol-version' : 'sec-websocket-protocol'] ?? '');
        if ((!spdy && res.headers['sec-websocket-accept'] !== acceptKey(key)) || !protocols.includes(protocol)) {
          socket.destroy();
          return reject(new VigilError('E_KUBE_UPSTREAM', `target ${this.target.name}: the API server's WebSocket handshake is not valid (accept key or subprotocol "${protocol}")`));
        }
        resolve({ upgraded: true, socket, head, protocol });
      });
      req.on('response', (res) => {
        req.setTimeout(0);
        resolve({ upgraded: false, response: res });
      });
      req.on('timeout', () => req.destroy(new VigilError('E_KUBE_UPSTREAM', `target ${this.target.name}: no answer from the API server within ${this.target.connectTimeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
