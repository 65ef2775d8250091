/**
 * exec and attach for a SPDY client (`Upgrade: SPDY/3.1`, `v4.channel.k8s.io`: kubectl with
 * KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false, older clients). The API server proxies a SPDY upgrade straight to
 * the kubelet, so the SPDY session runs kubectl ↔ kubelet through Vigil, which reads every frame and presents
 * the streams to the same relay as WebSocket (exec-stream.ts) as channel messages:
 *
 * - kubectl opens every stream (a SYN_STREAM with `streamtype` error, stdin, stdout, stderr or resize):
 *   passed on with its headers re-encoded from what Vigil read (its own compression context towards the
 *   kubelet); stdin data becomes channel 0 (its FIN the v5 close signal), resize data (JSON objects, one per
 *   line) channel 4; data kubectl writes on any other stream is handed over too, and dropped there.
 * - The kubelet's SYN_REPLYs and other control frames go back unchanged (its compression context towards
 *   kubectl is left whole); its stdout/stderr data become channels 1 and 2 (masked, re-framed by the relay),
 *   its error stream is read to its end and becomes channel 3 (the final Status).
 * - The streams are ended (FIN) towards kubectl only when the relay ends, after the masker's held bytes.
 *
 * moby/spdystream (both ends) does no SPDY flow control, so re-framed data does not upset a window.
 */
import type { Duplex } from 'node:stream';
import { describeError } from '../../../shared/errors.ts';
import { CH_CLOSE, CH_ERROR, CH_RESIZE, CH_STDERR, CH_STDIN, CH_STDOUT, type ExecStream, type StreamPeer } from './exec-stream.ts';
import { controlFrame, decodeHeaderBlock, encodeHeaderBlock, FLAG_FIN, HeaderDeflater, HeaderInflater, SpdyError, SpdyFramer, TYPE_GOAWAY, TYPE_PING, TYPE_RST_STREAM, TYPE_SETTINGS, TYPE_SYN_STREAM, TYPE_WINDOW_UPDATE, type SpdyFrame } from './spdy.ts';

export const SPDY_REMOTE_COMMAND = 'v4.channel.k8s.io';

const CHANNEL_OF: Record<string, number> = { stdin: CH_STDIN, stdout: CH_STDOUT, stderr: CH_STDERR, error: CH_ERROR, resize: CH_RESIZE };
const TYPE_OF: Record<number, string> = { [CH_STDIN]: 'stdin', [CH_STDOUT]: 'stdout', [CH_STDERR]: 'stderr', [CH_ERROR]: 'error', [CH_RESIZE]: 'resize' };
/** Resize messages are small JSON objects; a line longer than this is not one. */
const MAX_RESIZE_LINE = 1024;

function dataFrame(id: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(id & 0x7fffffff, 0);
  h[4] = flags;
  h.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([h, payload]);
}

export class SpdyExecBridge {
  private exec: ExecStream | undefined;
  private readonly idOf = new Map<string, number>();
  private readonly typeOf = new Map<number, string>();
  private readonly fromClientFrames = new SpdyFramer();
  private readonly fromTargetFrames = new SpdyFramer();
  private readonly inflater = new HeaderInflater();
  private readonly deflater = new HeaderDeflater();
  private chain: Promise<void> = Promise.resolve();
  private errorData: Buffer[] = [];
  private resizeText = '';
  private finished = false;

  readonly clientPeer: StreamPeer;
  readonly targetPeer: StreamPeer;

  constructor(
    private readonly client: Duplex,
    private readonly target: Duplex,
    private readonly onProtocolError: (message: string) => void,
  ) {
    this.clientPeer = {
      socket: client,
      send: (parts) => this.toClient(Buffer.isBuffer(parts) ? parts : Buffer.concat(parts as Buffer[])),
      close: () => this.closeClient(),
    };
    this.targetPeer = {
      socket: target,
      send: (parts) => this.toTarget(Buffer.isBuffer(parts) ? parts : Buffer.concat(parts as Buffer[])),
      close: () => target.end(),
    };
  }

  /** Starts reading both sockets into `exec` (created with clientPeer, then attached to targetPeer). */
  start(exec: ExecStream, clientHead: Buffer, targetHead: Buffer): void {
    this.exec = exec;
    const fromClient = (c: Buffer) => {
      this.chain = this.chain.then(() => this.clientBytes(c)).catch((e: unknown) => this.onProtocolError(describeError(e)));
    };
    if (clientHead.length) fromClient(clientHead);
    this.client.on('data', fromClient);
    this.target.on('data', (c: Buffer) => this.targetBytes(c));
    if (targetHead.length) this.targetBytes(targetHead);
  }

  /** A channel message from the relay, as SPDY data on kubectl's stream of that type. */
  private toClient(m: Buffer): boolean {
    if (m.length === 0 || this.finished) return true;
    const id = this.idOf.get(TYPE_OF[m[0]!] ?? '');
    if (id === undefined || m.length === 1) return true;
    return this.client.write(dataFrame(id, 0, m.subarray(1)));
  }

  /** A channel message from the relay towards the kubelet: stdin, resize, or the close of stdin/resize. */
  private toTarget(m: Buffer): boolean {
    const ch = m[0];
    if (ch === CH_CLOSE && m.length === 2) {
      const id = this.idOf.get(TYPE_OF[m[1]!] ?? '');
      return id === undefined ? true : this.target.write(dataFrame(id, FLAG_FIN, Buffer.alloc(0)));
    }
    const id = this.idOf.get(TYPE_OF[ch ?? -1] ?? '');
    if (id === undefined) return true;
    const payload = ch === CH_RESIZE ? Buffer.concat([m.subarray(1), Buffer.from('\n')]) : m.subarray(1);
    return this.target.write(dataFrame(id, 0, payload));
  }

  private closeClient(): void {
    if (this.finished) return;
    this.finished = true;
    for (const t of ['stdout', 'stderr', 'error']) {
      const id = this.idOf.get(t);
      if (id !== undefined) this.client.write(dataFrame(id, FLAG_FIN, Buffer.alloc(0)));
    }
    setImmediate(() => this.client.end());
  }

  private async clientBytes(c: Buffer): Promise<void> {
    for (const f of this.fromClientFrames.push(c)) await this.clientFrame(f);
  }

  private async clientFrame(f: SpdyFrame): Promise<void> {
    const exec = this.exec!;
    if (!f.control) {
      const type = this.typeOf.get(f.streamId);
      if (type === undefined) throw new SpdyError(`data for stream ${f.streamId}, which kubectl never opened`);
      if (type === 'resize') {
        this.resizeText += f.payload.toString('utf8');
        let nl: number;
        while ((nl = this.resizeText.indexOf('\n')) >= 0) {
          const line = this.resizeText.slice(0, nl).trim();
          this.resizeText = this.resizeText.slice(nl + 1);
          if (line) exec.fromClient(true, Buffer.concat([Buffer.of(CH_RESIZE), Buffer.from(line)]));
        }
        if (this.resizeText.length > MAX_RESIZE_LINE) throw new SpdyError('a resize message that is not a small JSON object');
      } else if (f.payload.length > 0) exec.fromClient(true, Buffer.concat([Buffer.of(CHANNEL_OF[type]!), f.payload]));
      if (f.flags & FLAG_FIN) {
        if (type === 'stdin' || type === 'resize') exec.fromClient(true, Buffer.of(CH_CLOSE, CHANNEL_OF[type]!));
        else this.target.write(dataFrame(f.streamId, FLAG_FIN, Buffer.alloc(0)));
      }
      return;
    }
    switch (f.type) {
      case TYPE_SYN_STREAM: {
        const p = f.payload;
        if (p.length < 10) throw new SpdyError('a truncated SYN_STREAM');
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const type = decodeHeaderBlock(await this.inflater.run(p.subarray(10))).get('streamtype')?.[0] ?? '';
        if (!Object.hasOwn(CHANNEL_OF, type)) throw new SpdyError(`a stream of type "${type.slice(0, 40)}", which remote command does not have`);
        if (this.idOf.has(type) || this.typeOf.has(id)) throw new SpdyError(`a second ${type} stream`);
        this.idOf.set(type, id);
        this.typeOf.set(id, type);
        const block = await this.deflater.run(encodeHeaderBlock([['streamtype', type]]));
        this.target.write(controlFrame(TYPE_SYN_STREAM, f.flags, Buffer.concat([p.subarray(0, 10), block])));
        return;
      }
      case TYPE_RST_STREAM:
      case TYPE_SETTINGS:
      case TYPE_PING:
      case TYPE_GOAWAY:
      case TYPE_WINDOW_UPDATE:
        this.target.write(f.raw);
        return;
      default:
        throw new SpdyError(`kubectl sent a SPDY control frame of type ${f.type}, which Vigil does not relay`);
    }
  }

  private targetBytes(c: Buffer): void {
    const exec = this.exec!;
    let frames: SpdyFrame[];
    try {
      frames = this.fromTargetFrames.push(c);
    } catch (e) {
      return this.onProtocolError(`the kubelet's SPDY: ${describeError(e)}`);
    }
    for (const f of frames) {
      if (f.control) {
        // The kubelet resets the streams once the command is done: kubectl must first get the output the
        // masker still holds and the Status, so a reset of a remote-command stream is not passed on (the
        // streams end with FINs when the relay ends).
        const reset = f.type === TYPE_RST_STREAM && f.payload.length >= 4 ? this.typeOf.get(f.payload.readUInt32BE(0) & 0x7fffffff) : undefined;
        if (reset !== undefined) {
          if (reset === 'error') this.errorEnded(exec);
          continue;
        }
        if (!this.finished) this.client.write(f.raw);
        continue;
      }
      const type = this.typeOf.get(f.streamId);
      if (type === 'stdout' || type === 'stderr') {
        if (f.payload.length) exec.fromUpstream(true, Buffer.concat([Buffer.of(CHANNEL_OF[type]!), f.payload]));
      } else if (type === 'error') {
        if (f.payload.length) this.errorData.push(f.payload);
        // The Status is one JSON object: passed on once whole (the kubelet may reset the stream rather than end it).
        const text = Buffer.concat(this.errorData);
        let whole = false;
        try {
          JSON.parse(text.toString('utf8'));
          whole = text.length > 0;
        } catch {
          /* not yet */
        }
        if (whole) {
          this.errorData = [];
          this.statusSent = true;
          exec.fromUpstream(true, Buffer.concat([Buffer.of(CH_ERROR), text]));
        } else if (f.flags & FLAG_FIN) this.errorEnded(exec);
      }
    }
  }

  private statusSent = false;

  /** The error stream ended (FIN or reset) without a whole Status: what it holds, or none (v4: success). */
  private errorEnded(exec: ExecStream): void {
    if (this.statusSent) return;
    this.statusSent = true;
    const rest = Buffer.concat(this.errorData);
    this.errorData = [];
    exec.fromUpstream(true, Buffer.concat([Buffer.of(CH_ERROR), rest.length ? rest : Buffer.from('{"metadata":{},"status":"Success"}')]));
  }

  close(): void {
    this.inflater.close();
    this.deflater.close();
  }
}
