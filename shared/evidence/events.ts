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
  | 'result'
  | 'output'
  | 'input'
  | 'masking'
  | 'error'
  | 'notice'
  | 'session.close';

const PREFIX = 8;

export class EventEncoder {
  private parts: Uint8Array[] = [];
  private size = 0;
  private count = 0;

  /** Adds one event; returns the encoded size of the batch so far. */
  add(event: EvidenceEvent): number {
    const { data, ...fields } = event;
    const json = utf8(JSON.stringify(fields));
    const head = new Uint8Array(PREFIX);
    writeU32(head, 0, json.length);
    writeU32(head, 4, data ? data.length : 0);
    this.parts.push(head, json);
    if (data && data.length) this.parts.push(data);
    this.size += PREFIX + json.length + (data ? data.length : 0);
    this.count++;
    return this.size;
  }

  get byteLength(): number {
    return this.size;
  }

  get eventCount(): number {
    return this.count;
  }

  /** The batch as one plaintext, and a fresh empty encoder state. */
  take(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    this.parts = [];
    this.size = 0;
    this.count = 0;
    return out;
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
    if (dl > 0) e.data = plain.slice(o + PREFIX + jl, o + PREFIX + jl + dl);
    out.push(e);
    o += PREFIX + jl + dl;
  }
  return out;
}

function bad(offset: number, what: string): VigilError {
  return new VigilError('E_EVENT_FORMAT', `${what} at plaintext offset ${offset}`);
}
