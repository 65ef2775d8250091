/**
 * Events are what a session archive records. A frame's plaintext is a batch of events, each encoded as
 *
 *   u32 jsonLength | u32 dataLength | JSON (UTF-8) | data (raw bytes, e.g. terminal output)
 *
 * so binary payloads are stored as they are, without base64. `seq` numbers events from 0 across the
 * whole archive; `t` is milliseconds since the session started.
 */
import { fromUtf8, readU32, utf8, writeU32 } from '../bytes.ts';
import { VigilError } from '../errors.ts';

export interface EvidenceEvent {
  seq: number;
  t: number;
  type: EventType | (string & {});
  /** Raw bytes that belong to the event (terminal output, COPY data); never JSON-encoded. */
  data?: Uint8Array;
  [field: string]: unknown;
}

/** The event vocabulary every protocol adapter shares (fields are documented in docs/evidence-format.md). */
export type EventType =
  | 'session.open'
  | 'identity.verified'
  | 'identity.rejected'
  | 'command'
  | 'decision'
  | 'approval.requested'
  | 'approval.decided'
  | 'approval.expired'
  | 'approval.cancelled'
  | 'command.released'
  | 'result'
  | 'channel.open'
  | 'channel.close'
  | 'output'
  | 'input'
  | 'resize'
  | 'transfer'
  | 'forward.open'
  | 'forward.close'
  | 'masking'
  | 'error'
  | 'notice'
  | 'session.close';

/**
 * Stream events (SSH, Kubernetes exec): what their fields hold, for adapters that write them and readers
 * that replay them. `channel` numbers a session's channels from 0; an `output`/`input` without one belongs
 * to the session's only terminal (demo data and archives written before channels existed).
 */
export type ChannelKind = 'session' | 'exec' | 'shell' | 'subsystem' | 'direct-tcpip' | (string & {});

export interface ChannelOpenFields {
  type: 'channel.open';
  channel: number;
  kind: ChannelKind;
  /** The exec command or subsystem name (masked), when the channel runs one. */
  command?: string;
  pty?: { term?: string; cols: number; rows: number };
}

export interface ChannelCloseFields {
  type: 'channel.close';
  channel: number;
  /** Exactly one of exitStatus / exitSignal when the target reported how the program ended; both null when it did not. */
  exitStatus: number | null;
  exitSignal: string | null;
  reason?: string;
}

export interface StreamFields {
  type: 'output' | 'input';
  channel?: number;
  stream: 'pty' | 'stdout' | 'stderr' | 'stdin' | (string & {});
  /** Input only: bytes typed at a password prompt are not stored; `data` is then absent and this counts them. */
  withheld?: number;
}

export interface ResizeFields {
  type: 'resize';
  channel: number;
  cols: number;
  rows: number;
}

export interface TransferFields {
  type: 'transfer';
  channel?: number;
  command?: number;
  path: string;
  direction: 'upload' | 'download';
  bytes: number;
  /** Hex SHA-256 of the bytes that crossed the gateway; null when the transfer did not complete. */
  sha256: string | null;
  outcome: 'complete' | 'failed' | 'blocked' | 'aborted';
  reason?: string;
}

export interface ForwardOpenFields {
  type: 'forward.open';
  channel: number;
  host: string;
  port: number;
  origin?: string;
}

export interface ForwardCloseFields {
  type: 'forward.close';
  channel: number;
  bytesIn: number;
  bytesOut: number;
  reason?: string;
}

/** A held command, once approved, about to reach the target: the protocol-neutral proof that it ran. */
export interface CommandReleasedFields {
  type: 'command.released';
  command: number;
  requestId: string;
  commandHash: string;
}

const PREFIX = 8;

const textEncoder = new TextEncoder();

/**
 * Encodes a batch of events straight into one reusable buffer: no per-event arrays, no copy when the
 * batch is handed to the cipher.
 */
export class EventEncoder {
  /** Starts small (an idle session costs little) and grows with the largest batch; see reset(). */
  private buf = new Uint8Array(4 * 1024);
  private size = 0;
  private count = 0;

  /** Adds one event; returns the encoded size of the batch so far. */
  add(event: EvidenceEvent): number {
    const { data, ...fields } = event;
    const json = JSON.stringify(fields);
    const dataLength = data ? data.length : 0;
    this.reserve(PREFIX + json.length * 3 + dataLength);
    const at = this.size;
    const { written } = textEncoder.encodeInto(json, this.buf.subarray(at + PREFIX));
    writeU32(this.buf, at, written);
    writeU32(this.buf, at + 4, dataLength);
    if (data && dataLength) this.buf.set(data, at + PREFIX + written);
    this.size = at + PREFIX + written + dataLength;
    this.count++;
    return this.size;
  }

  get byteLength(): number {
    return this.size;
  }

  /** Drops the events added after the batch was `size` bytes and `count` events long (an add that cannot stay). */
  truncate(size: number, count: number): void {
    if (size > this.size || count > this.count) throw new RangeError('truncate() can only shorten the batch');
    this.size = size;
    this.count = count;
  }

  get eventCount(): number {
    return this.count;
  }

  /** The batch so far, as a view valid until the next add() or reset(). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.size);
  }

  reset(): void {
    this.size = 0;
    this.count = 0;
    // One huge batch (a large output burst) should not pin its buffer for the rest of the session.
    if (this.buf.length > 256 * 1024) this.buf = new Uint8Array(4 * 1024);
  }

  /** The batch as an independent copy, and a fresh empty batch. */
  take(): Uint8Array {
    const out = this.view().slice();
    this.reset();
    return out;
  }

  private reserve(extra: number): void {
    if (this.size + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.size + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.size));
    this.buf = next;
  }
}

/** Decodes a frame's plaintext; throws E_EVENT_FORMAT with the byte offset when it is malformed. */
export function decodeEvents(plain: Uint8Array): EvidenceEvent[] {
  const out: EvidenceEvent[] = [];
  let o = 0;
  while (o < plain.length) {
    if (o + PREFIX > plain.length) throw bad(o, 'truncated event prefix');
    const jl = readU32(plain, o);
    const dl = readU32(plain, o + 4);
    if (jl > plain.length - o - PREFIX || dl > plain.length - o - PREFIX - jl) throw bad(o, 'event length exceeds frame');
    let ev: unknown;
    try {
      ev = JSON.parse(fromUtf8(plain.subarray(o + PREFIX, o + PREFIX + jl)));
    } catch {
      throw bad(o, 'event is not UTF-8 JSON');
    }
    if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) throw bad(o, 'event is not an object');
    const e = ev as EvidenceEvent;
    if (!Number.isSafeInteger(e.seq) || typeof e.t !== 'number' || typeof e.type !== 'string') {
      throw bad(o, 'event lacks seq, t or type');
    }
    // A view, not a copy: the frame's plaintext is a fresh buffer that only its events reference.
    if (dl > 0) e.data = plain.subarray(o + PREFIX + jl, o + PREFIX + jl + dl);
    out.push(e);
    o += PREFIX + jl + dl;
  }
  return out;
}

function bad(offset: number, what: string): VigilError {
  return new VigilError('E_EVENT_FORMAT', `${what} at plaintext offset ${offset}`);
}
