/**
 * `kubectl port-forward` over WebSocket (kubectl 1.31+, subprotocol `SPDY/3.1+portforward.k8s.io`: SPDY/3.1
 * frames tunnelled in WebSocket binary messages, the SPDY session between kubectl and the kubelet). Each
 * local connection kubectl accepts is a pair of SPDY streams (`streamtype` error and data, with `port` and
 * `requestid` headers) that the kubelet connects to that port in the pod.
 *
 * Governed per port: the first stream naming a port is decided as a `forward` command (class `forward`,
 * object `namespace/pod:port`, attribute `port`), durable before the stream is passed on; a refused port's
 * streams are reset towards kubectl and never reach the kubelet. The headers Vigil passes on are re-encoded
 * from what it read (its own compression context towards the kubelet), so the kubelet connects to the port
 * policy decided on. Each data stream is a `forward.open`/`forward.close` with byte counts. The bytes are an
 * opaque TCP stream, as with SSH port forwarding: counted, neither masked nor recorded (docs/
 * kubernetes-gateway.md, "Port-forward"). Frames for a stream Vigil did not pass on, and SYN_REPLY/HEADERS
 * from kubectl (which it never sends), are not relayed.
 */
import { describeError } from '../../../shared/errors.ts';
import type { PipelineSession } from '../../pipeline/session.ts';
import {
  controlFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  FLAG_FIN,
  HeaderDeflater,
  HeaderInflater,
  RST_REFUSED_STREAM,
  rstStream,
  SpdyError,
  SpdyFramer,
  TYPE_GOAWAY,
  TYPE_PING,
  TYPE_RST_STREAM,
  TYPE_SETTINGS,
  TYPE_SYN_STREAM,
  TYPE_WINDOW_UPDATE,
  type SpdyFrame,
} from './spdy.ts';
import type { Duplex } from 'node:stream';
import type { WsConnection } from './websocket.ts';

export const PORT_FORWARD_TUNNEL = 'SPDY/3.1+portforward.k8s.io';

/** kubectl's side: a WebSocket carrying the SPDY bytes, or (legacy `Upgrade: SPDY/3.1`) the socket itself. */
export interface PortForwardClient {
  send(parts: Buffer | readonly Buffer[]): boolean;
  close(code?: number): void;
}

/** A raw upgraded socket as a PortForwardClient (SPDY straight over the TLS connection). */
export function rawSpdyClient(socket: Duplex): PortForwardClient {
  return {
    send: (parts) => socket.write(Buffer.isBuffer(parts) ? parts : Buffer.concat(parts as Buffer[])),
    close: () => socket.end(),
  };
}

export interface PortForwardOptions {
  session: PipelineSession;
  command: number;
  namespace: string;
  pod: string;
  onEnd(): void;
}

interface PfStream {
  type: 'data' | 'error';
  port: number;
  allowed: boolean;
  channel?: number;
  bytesIn: number;
  bytesOut: number;
  clientFin: boolean;
  serverFin: boolean;
  closed: boolean;
}

export class PortForwardStream {
  private upstream: WsConnection | undefined;
  private queue: Buffer[] = [];
  private readonly fromClientFrames = new SpdyFramer();
  private readonly fromTargetFrames = new SpdyFramer();
  private readonly inflater = new HeaderInflater();
  private readonly deflater = new HeaderDeflater();
  private chain: Promise<void> = Promise.resolve();
  private readonly streams = new Map<number, PfStream>();
  private readonly ports = new Map<number, Promise<boolean>>();
  private readonly dropped = new Map<string, number>();
  private nextChannel = 0;
  private connections = 0;
  private ended = false;

  constructor(
    private readonly client: PortForwardClient,
    private readonly o: PortForwardOptions,
  ) {}

  private get s(): PipelineSession {
    return this.o.session;
  }

  private drop(reason: string): void {
    const n = this.dropped.get(reason) ?? 0;
    this.dropped.set(reason, n + 1);
    if (n === 0) this.s.record({ type: 'notice', kind: 'stream-frame-dropped', command: this.o.command, reason });
  }

  fromClient(binary: boolean, data: Buffer): void {
    if (this.ended) return;
    if (!binary) return this.fail('kubectl sent a text message in a SPDY tunnel', 'protocol');
    if (!this.upstream) {
      this.queue.push(data);
      return;
    }
    this.chain = this.chain.then(() => this.processClient(data)).catch((e: unknown) => this.fail(describeError(e), 'protocol'));
  }

  attach(upstream: WsConnection): void {
    this.upstream = upstream;
    const q = this.queue;
    this.queue = [];
    for (const m of q) this.fromClient(true, m);
  }

  private async processClient(data: Buffer): Promise<void> {
    if (this.ended) return;
    for (const f of this.fromClientFrames.push(data)) {
      if (this.ended) return;
      await this.clientFrame(f);
    }
  }

  private toTarget(b: Buffer): void {
    if (!this.ended) this.upstream!.send(b);
  }

  private async clientFrame(f: SpdyFrame): Promise<void> {
    if (!f.control) {
      const st = this.streams.get(f.streamId);
      if (!st?.allowed || st.closed) return this.drop('data for a stream Vigil did not pass on');
      if (st.type === 'data') st.bytesOut += f.payload.length;
      this.toTarget(f.raw);
      if (f.flags & FLAG_FIN) {
        st.clientFin = true;
        this.maybeClosed(f.streamId, st);
      }
      return;
    }
    switch (f.type) {
      case TYPE_SYN_STREAM:
        return this.synStream(f.payload, f.flags);
      case TYPE_RST_STREAM: {
        const id = f.payload.length >= 4 ? f.payload.readUInt32BE(0) & 0x7fffffff : 0;
        const st = this.streams.get(id);
        if (!st?.allowed) return;
        this.toTarget(f.raw);
        return this.close(id, st, 'reset by kubectl');
      }
      case TYPE_WINDOW_UPDATE: {
        const id = f.payload.length >= 4 ? f.payload.readUInt32BE(0) & 0x7fffffff : 0;
        if (id !== 0 && !this.streams.get(id)?.allowed) return;
        return this.toTarget(f.raw);
      }
      case TYPE_SETTINGS:
      case TYPE_PING:
      case TYPE_GOAWAY:
        return this.toTarget(f.raw);
      default:
        // SYN_REPLY and HEADERS carry a header block Vigil would have to re-encode; kubectl sends neither.
        throw new SpdyError(`kubectl sent a SPDY control frame of type ${f.type}, which Vigil does not relay`);
    }
  }

  private async synStream(p: Buffer, flags: number): Promise<void> {
    if (p.length < 10) throw new SpdyError('a truncated SYN_STREAM');
    const id = p.readUInt32BE(0) & 0x7fffffff;
    const headers = decodeHeaderBlock(await this.inflater.run(p.subarray(10)));
    const first = (k: string) => headers.get(k)?.[0] ?? '';
    const type = first('streamtype');
    const portText = first('port');
    const requestId = first('requestid');
    const refuse = (why: string) => {
      this.streams.set(id, { type: 'error', port: 0, allowed: false, bytesIn: 0, bytesOut: 0, clientFin: true, serverFin: true, closed: true });
      this.s.record({ type: 'notice', kind: 'stream-refused', command: this.o.command, stream: id, reason: why });
      this.client.send(rstStream(id, RST_REFUSED_STREAM));
    };
    if (this.streams.has(id)) throw new SpdyError(`SYN_STREAM ${id} again`);
    // As the kubelet reads them (strconv.ParseUint(port, 10, 16), port > 0; streamType error or data).
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return refuse(`the port header "${portText.slice(0, 40)}" is not a port`);
    if (type !== 'data' && type !== 'error') return refuse(`the streamType header "${type.slice(0, 40)}" is not error or data`);
    if (!/^[0-9]{1,10}$/.test(requestId)) return refuse('no numeric requestID header (old clients pairing streams by id are not relayed)');
    const port = Number(portText);
    if (!(await this.decidePort(port))) return refuse(`port ${port} is refused by policy`);
    const block = await this.deflater.run(encodeHeaderBlock([['streamtype', type], ['port', String(port)], ['requestid', requestId]]));
    const st: PfStream = { type, port, allowed: true, bytesIn: 0, bytesOut: 0, clientFin: (flags & FLAG_FIN) !== 0, serverFin: false, closed: false };
    this.streams.set(id, st);
    if (type === 'data') {
      st.channel = this.nextChannel++;
      this.connections++;
      this.s.record({ type: 'forward.open', channel: st.channel, host: `${this.o.namespace}/${this.o.pod}`, port, command: this.o.command, requestId });
    }
    this.toTarget(controlFrame(TYPE_SYN_STREAM, flags, Buffer.concat([p.subarray(0, 10), block])));
  }

  /** The first stream naming a port decides it for the session (a `forward` command, durable first). */
  private decidePort(port: number): Promise<boolean> {
    let d = this.ports.get(port);
    if (!d) {
      const object = `${this.o.namespace}/${this.o.pod}:${port}`;
      const cmd = this.s.decide({
        kind: 'forward',
        text: `port-forward ${this.s.masks.evidence(object)}`,
        facts: [{ class: 'forward', command: 'portforward', tags: [], objects: [object], attributes: { namespace: this.o.namespace, name: this.o.pod, resource: 'pods', subresource: 'portforward', port: String(port) } }],
        extra: { port, request: this.o.command },
        unholdable: 'a port-forward connection cannot wait for approval (policy can hold the port-forward request itself)',
      });
      this.s.recordMasking(cmd.id);
      d = this.s.commit().then(() => cmd.decision.action === 'allow');
      this.ports.set(port, d);
    }
    return d;
  }

  fromUpstream(binary: boolean, data: Buffer): void {
    if (this.ended) return;
    if (!binary) return this.fail('the API server sent a text message in a SPDY tunnel', 'target');
    let frames: SpdyFrame[];
    try {
      frames = this.fromTargetFrames.push(data);
    } catch (e) {
      return this.fail(describeError(e), 'target');
    }
    const out: Buffer[] = [];
    for (const f of frames) {
      out.push(f.raw);
      if (!f.control) {
        const st = this.streams.get(f.streamId);
        if (!st) continue;
        if (st.type === 'data') st.bytesIn += f.payload.length;
        if (f.flags & FLAG_FIN) {
          st.serverFin = true;
          this.maybeClosed(f.streamId, st);
        }
      } else if (f.type === TYPE_RST_STREAM && f.payload.length >= 4) {
        const id = f.payload.readUInt32BE(0) & 0x7fffffff;
        const st = this.streams.get(id);
        if (st) this.close(id, st, 'reset by the kubelet');
      }
    }
    if (out.length) this.client.send(out);
  }

  private maybeClosed(id: number, st: PfStream): void {
    if (st.clientFin && st.serverFin) this.close(id, st);
  }

  private close(_id: number, st: PfStream, reason?: string): void {
    if (st.closed) return;
    st.closed = true;
    if (st.channel !== undefined) this.s.record({ type: 'forward.close', channel: st.channel, bytesIn: st.bytesIn, bytesOut: st.bytesOut, ...(reason ? { reason } : {}) });
  }

  private fail(message: string, kind: 'protocol' | 'target'): void {
    if (this.ended) return;
    this.s.record({ type: 'error', kind, code: 'stream-protocol', command: this.o.command, message });
    this.end(message, 1002);
  }

  /** Not used for port-forward (refusals are HTTP answers before the upgrade: upgrade.ts). */
  refuse(_code: number, _reason: string, message: string): void {
    this.end(message, 1008);
  }

  end(reason: string, code = 1000, _clientGone = false): void {
    if (this.ended) return;
    this.ended = true;
    for (const [id, st] of this.streams) this.close(id, st, 'the port-forward ended');
    if (this.dropped.size) this.s.record({ type: 'notice', kind: 'stream-frames-dropped', command: this.o.command, counts: Object.fromEntries(this.dropped) });
    if (this.upstream) this.s.record({ type: 'result', command: this.o.command, status: 101, stream: 'portforward', connections: this.connections, end: reason });
    this.inflater.close();
    this.deflater.close();
    this.upstream?.close(1000);
    this.client.close(code);
    this.o.onEnd();
  }
}
