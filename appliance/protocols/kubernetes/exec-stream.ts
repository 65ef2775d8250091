/**
 * The remote-command streams of an exec or attach (v4.channel.k8s.io and v5.channel.k8s.io: each binary
 * message is one channel byte and its data; client-go remotecommand), relayed message by message between
 * kubectl and the API server, and recorded as one channel of the session:
 *
 *   0 stdin   client → target: forwarded as sent, recorded masked (`input`)
 *   1 stdout  target → client: through the stream masker (a card number split across messages is masked
 *   2 stderr    whole), what the client gets is what is recorded (`output`; `pty` when there is a terminal)
 *   3 error   target → client: the final Status, masked; its exit code goes into `channel.close`
 *   4 resize  client → target: `{"Width":w,"Height":h}`, re-encoded from what was read, recorded (`resize`)
 *   255 close (v5) `[255, n]`: the client is done writing channel n (stdin): later stdin is dropped
 *
 * Anything else the client sends — stdin the request did not ask for or after its close, output channels,
 * an unknown channel, a text message, a resize that is not that JSON — is dropped and recorded (a
 * `notice` `stream-frame-dropped`, once per reason with a count at the end). Until the target's side is
 * attached (the command is being decided or approved) the client's messages are queued, bounded.
 */
import type { MaskCounter } from '../../pipeline/masking.ts';
import type { PipelineSession } from '../../pipeline/session.ts';
import { IDLE_RELEASE_MS, StreamMasker } from '../../pipeline/stream-masker.ts';
import { maskJson } from './response-masker.ts';
import { statusBody } from './status.ts';
import { tarTransfer, type TarTransfer } from './tar-transfer.ts';
import type { Duplex } from 'node:stream';

/** One side of the relay: a WebSocket (websocket.ts), or the SPDY bridge's view of a SPDY session (spdy-exec.ts). */
export interface StreamPeer {
  readonly socket: Duplex;
  /** One channel message: the channel byte, then its data. */
  send(parts: Buffer | readonly Buffer[]): boolean;
  close(code?: number): void;
}

export const CH_STDIN = 0;
export const CH_STDOUT = 1;
export const CH_STDERR = 2;
export const CH_ERROR = 3;
export const CH_RESIZE = 4;
export const CH_CLOSE = 255;

/** Bytes a side may have queued for writing before the other side is paused. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

/** Client messages queued while the command waits for its decision; past this the client is not read. */
const QUEUE_MAX_BYTES = 4 * 1024 * 1024;

export interface ExecStreamOptions {
  session: PipelineSession;
  command: number;
  channel: number;
  protocol: 'v4.channel.k8s.io' | 'v5.channel.k8s.io';
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  kind: 'exec' | 'attach';
  /** The masked command line (exec) for channel.open. */
  display: string;
  /** The argv as it runs (exec), to recognise `kubectl cp`'s tar. */
  argv: readonly string[];
  onEnd(): void;
}

class OutputStream {
  readonly masker: StreamMasker;
  idle: NodeJS.Timeout | undefined;
  constructor(masks: MaskCounter) {
    this.masker = new StreamMasker((b, ctx) => masks.streamBytes(b, ctx));
  }
}

export class ExecStream {
  private upstream: StreamPeer | undefined;
  private queue: Buffer[] = [];
  private queued = 0;
  private stdinClosed = false;
  private ended = false;
  private opened = false;
  private exitStatus: number | null = null;
  private exitReason: string | undefined;
  private readonly out = new Map<number, OutputStream>();
  private readonly input: StreamMasker;
  private readonly dropped = new Map<string, number>();
  private bytesIn = 0;
  private bytesOut = 0;
  private readonly transfer: TarTransfer | undefined;

  constructor(
    private readonly client: StreamPeer,
    private readonly o: ExecStreamOptions,
  ) {
    const masks = o.session.masks;
    this.input = new StreamMasker((b, ctx) => masks.streamBytes(b, ctx));
    for (const ch of [CH_STDOUT, CH_STDERR]) this.out.set(ch, new OutputStream(masks));
    this.transfer = o.kind === 'exec' && !o.tty ? tarTransfer(o.argv) : undefined;
  }

  private get s(): PipelineSession {
    return this.o.session;
  }

  private streamName(ch: number): string {
    if (this.o.tty) return 'pty';
    return ch === CH_STDIN ? 'stdin' : ch === CH_STDOUT ? 'stdout' : 'stderr';
  }

  /** channel.open once: with a terminal, at its first size (kubectl sends it first), else at once. */
  private open(pty?: { cols: number; rows: number }): void {
    if (this.opened) return;
    this.opened = true;
    this.s.record({ type: 'channel.open', channel: this.o.channel, kind: this.o.kind, ...(this.o.display ? { command: this.o.display } : {}), ...(pty ? { pty } : {}) });
  }

  private drop(reason: string): void {
    const n = this.dropped.get(reason) ?? 0;
    this.dropped.set(reason, n + 1);
    if (n === 0) this.s.record({ type: 'notice', kind: 'stream-frame-dropped', command: this.o.command, channel: this.o.channel, reason });
  }

  /** A message from kubectl (called for every one, before and after the target is attached). */
  fromClient(binary: boolean, data: Buffer): void {
    if (this.ended) return;
    if (!binary) return this.drop('a text message (the remote-command protocol is binary)');
    if (data.length === 0) return this.drop('an empty message (no channel byte)');
    if (!this.upstream) {
      this.queue.push(data);
      this.queued += data.length;
      if (this.queued > QUEUE_MAX_BYTES) this.client.socket.pause();
      return;
    }
    this.relayClient(data);
  }

  private relayClient(data: Buffer): void {
    const up = this.upstream!;
    const ch = data[0]!;
    if (ch === CH_STDIN) {
      if (!this.o.stdin) return this.drop('stdin the request did not ask for');
      if (this.stdinClosed) return this.drop('stdin after the client closed it');
      if (!this.o.tty) this.open();
      const payload = data.subarray(1);
      this.bytesOut += payload.length;
      if (this.transfer?.direction === 'upload') {
        this.transfer.bytes += payload.length;
        this.transfer.hash.update(payload);
      }
      const masked = this.input.push(payload);
      if (masked.length) this.s.record({ type: 'input', channel: this.o.channel, stream: this.streamName(CH_STDIN), data: masked });
      if (!up.send(data)) this.waitDrain(up, this.client);
      return;
    }
    if (ch === CH_RESIZE) {
      if (!this.o.tty) return this.drop('a resize without a terminal');
      const size = readSize(data.subarray(1));
      if (!size) return this.drop('a resize that is not {"Width":n,"Height":n}');
      if (!this.opened) this.open(size);
      else this.s.record({ type: 'resize', channel: this.o.channel, ...size });
      up.send([Buffer.of(CH_RESIZE), Buffer.from(JSON.stringify({ Width: size.cols, Height: size.rows }))]);
      return;
    }
    if (ch === CH_CLOSE && this.o.protocol === 'v5.channel.k8s.io') {
      if (data.length !== 2) return this.drop('a close signal that is not [255, channel]');
      const target = data[1]!;
      if (target === CH_STDIN) {
        if (this.stdinClosed) return;
        this.stdinClosed = true;
        const rest = this.input.end();
        if (rest.length) this.s.record({ type: 'input', channel: this.o.channel, stream: this.streamName(CH_STDIN), data: rest });
        this.s.record({ type: 'notice', kind: 'stream-closed', command: this.o.command, channel: this.o.channel, stream: this.streamName(CH_STDIN) });
        up.send(data);
      } else if (target === CH_RESIZE) up.send(data);
      else this.drop(`a close signal for channel ${target}`);
      return;
    }
    this.drop(`a message on channel ${ch}, which a client may not write`);
  }

  /** The target's side is open: queued client messages go first, in order. */
  attach(upstream: StreamPeer): void {
    this.upstream = upstream;
    if (!this.o.tty) this.open();
    const q = this.queue;
    this.queue = [];
    this.queued = 0;
    for (const m of q) {
      if (this.ended) break;
      this.relayClient(m);
    }
    this.client.socket.resume();
  }

  private readonly waiting = new Set<StreamPeer>();

  /**
   * Backpressure: `reader` is not read until `writer` drained (one listener however many writes filled it).
   * Only past WRITE_BUFFER_BYTES queued: pausing at every full 16 KiB socket buffer makes a bulk stream
   * stop and start on every message.
   */
  private waitDrain(writer: StreamPeer, reader: StreamPeer): void {
    if (writer.socket.writableLength < WRITE_BUFFER_BYTES) return;
    reader.socket.pause();
    if (this.waiting.has(writer)) return;
    this.waiting.add(writer);
    writer.socket.once('drain', () => {
      this.waiting.delete(writer);
      reader.socket.resume();
    });
  }

  /** A message from the API server. */
  fromUpstream(binary: boolean, data: Buffer): void {
    if (this.ended) return;
    if (!binary || data.length === 0) return this.targetBroke('the API server sent a message that is not a channel frame');
    const ch = data[0]!;
    if (data.length === 1) {
      // The empty "connected" message the API server sends first on the lowest writable channel.
      this.client.send(data);
      return;
    }
    if (ch === CH_STDOUT || ch === CH_STDERR) {
      if (!this.o.tty) this.open();
      const o = this.out.get(ch)!;
      clearTimeout(o.idle);
      this.bytesIn += data.length - 1;
      this.sendOutput(ch, o.masker.push(data.subarray(1)));
      if (o.masker.holding) o.idle = setTimeout(() => this.sendOutput(ch, o.masker.releaseIdle()), IDLE_RELEASE_MS);
      return;
    }
    if (ch === CH_ERROR) return this.statusFromTarget(data.subarray(1));
    if (ch === CH_CLOSE) {
      this.client.send(data);
      return;
    }
    this.s.record({ type: 'notice', kind: 'stream-frame-dropped', command: this.o.command, channel: this.o.channel, reason: `the API server wrote channel ${ch}` });
  }

  private sendOutput(ch: number, masked: Buffer): void {
    if (masked.length === 0 || this.ended) return;
    if (ch === CH_STDOUT && this.transfer?.direction === 'download') {
      this.transfer.bytes += masked.length;
      this.transfer.hash.update(masked);
    }
    this.s.record({ type: 'output', channel: this.o.channel, stream: this.streamName(ch), data: masked });
    if (!this.client.send([Buffer.of(ch), masked]) && this.upstream) this.waitDrain(this.client, this.upstream);
  }

  private flushOutput(): void {
    for (const [ch, o] of this.out) {
      clearTimeout(o.idle);
      this.sendOutput(ch, o.masker.end());
    }
  }

  /** The target's final Status: masked, passed on, and its exit code kept for channel.close. */
  private statusFromTarget(raw: Buffer): void {
    let masked: { status?: unknown; reason?: unknown; message?: unknown; details?: { causes?: { reason?: unknown; message?: unknown }[] } };
    try {
      // Parsed and masked in one step: a Status with base64 that does not decode is refused like one that does not parse.
      masked = maskJson(JSON.parse(raw.toString('utf8')), { masks: this.s.masks, reveal: [], secretsRequest: false }) as typeof masked;
    } catch {
      this.s.record({ type: 'error', kind: 'masking', code: 'unparseable-status', command: this.o.command, message: 'the error channel did not hold a JSON Status Vigil could inspect; not forwarded' });
      this.exitReason = 'the target\'s status could not be read';
      return this.sendStatus(statusFailure(502, 'InternalError', 'the API server\'s exec status could not be inspected; Vigil did not forward it'));
    }
    if (masked.status === 'Success') this.exitStatus = 0;
    else {
      const cause = masked.reason === 'NonZeroExitCode' ? masked.details?.causes?.find((c) => c.reason === 'ExitCode') : undefined;
      const code = cause && typeof cause.message === 'string' && /^\d{1,3}$/.test(cause.message) ? Number(cause.message) : undefined;
      if (code !== undefined) this.exitStatus = code;
      else this.exitReason = typeof masked.message === 'string' ? this.s.masks.evidence(masked.message) : 'the target reported a failure';
    }
    this.flushOutput();
    this.s.recordMasking(this.o.command);
    this.sendStatus(Buffer.from(JSON.stringify(masked)));
  }

  private sendStatus(body: Buffer): void {
    this.client.send([Buffer.of(CH_ERROR), body]);
  }

  /**
   * A line from Vigil to the person at the terminal while the command waits (approval): on stderr, or on the
   * terminal with -t; never on stdout without one (it may be a tar stream). Recorded as a notice, not output.
   */
  note(text: string): void {
    const ch = this.o.tty ? CH_STDOUT : this.o.stderr ? CH_STDERR : undefined;
    this.s.record({ type: 'notice', kind: 'vigil-message', command: this.o.command, channel: this.o.channel, message: text.trim(), shown: ch !== undefined });
    if (ch !== undefined && !this.ended) this.client.send([Buffer.of(ch), Buffer.from(text)]);
  }

  /** Vigil's own refusal after the upgrade (blocked, not approved, the API server refused): a Failure Status, then close. */
  refuse(code: number, reason: string, message: string): void {
    if (this.ended) return;
    this.exitReason = message;
    this.sendStatus(statusFailure(code, reason, message));
    this.end('refused', 1000);
  }

  private targetBroke(message: string): void {
    this.s.record({ type: 'error', kind: 'target', code: 'stream-protocol', command: this.o.command, message });
    this.exitReason = message;
    this.end('the API server broke the stream protocol', 1011);
  }

  /** The client or the target closed (or Vigil ends it): recorded once, both sides closed. */
  end(reason: string, code = 1000, clientGone = false): void {
    if (this.ended) return;
    if (!clientGone) this.flushOutput();
    this.ended = true;
    for (const o of this.out.values()) clearTimeout(o.idle);
    const rest = this.input.end();
    if (rest.length) this.s.record({ type: 'input', channel: this.o.channel, stream: this.streamName(CH_STDIN), data: rest });
    if (this.dropped.size) this.s.record({ type: 'notice', kind: 'stream-frames-dropped', command: this.o.command, channel: this.o.channel, counts: Object.fromEntries(this.dropped) });
    const t = this.transfer;
    if (t && this.upstream) {
      const complete = this.exitStatus === 0;
      this.s.record({ type: 'transfer', channel: this.o.channel, command: this.o.command, path: this.s.masks.evidence(t.path), direction: t.direction, bytes: t.bytes, sha256: complete ? t.hash.digest('hex') : null, outcome: complete ? 'complete' : this.ended && this.exitStatus === null ? 'aborted' : 'failed', ...(complete ? {} : { reason: this.exitReason ?? reason }) });
    }
    if (this.opened) {
      this.s.record({ type: 'channel.close', channel: this.o.channel, exitStatus: this.exitStatus, exitSignal: null, ...(this.exitStatus === null ? { reason: this.exitReason ?? reason } : {}) });
    }
    // A result only for a stream that reached the API server: a refused one did not run (the verifier's
    // approvals check reads a result as "it ran").
    if (this.upstream) this.s.record({ type: 'result', command: this.o.command, status: 101, stream: this.o.kind, bytesIn: this.bytesIn, bytesOut: this.bytesOut, exitStatus: this.exitStatus, end: reason });
    else this.s.record({ type: 'notice', kind: 'stream-not-run', command: this.o.command, reason: this.exitReason ?? reason });
    this.s.recordMasking(this.o.command);
    this.upstream?.close(1000);
    this.client.close(code);
    this.o.onEnd();
  }
}

/** A resize message's `{"Width":w,"Height":h}` (uint16 each, as client-go's TerminalSize). */
function readSize(b: Buffer): { cols: number; rows: number } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { Width: w, Height: h } = v as { Width?: unknown; Height?: unknown };
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff;
  return ok(w) && ok(h) ? { cols: w, rows: h } : undefined;
}

function statusFailure(code: number, reason: string, message: string): Buffer {
  const body = JSON.parse(statusBody(code, message)) as Record<string, unknown>;
  body['reason'] = reason;
  return Buffer.from(JSON.stringify(body));
}
