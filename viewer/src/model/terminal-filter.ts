/**
 * Terminal output recorded from a session is untrusted: a bot (or whoever controls the target) can print
 * escape sequences aimed at the person replaying it — OSC 52 writes to the clipboard, OSC 8 hyperlinks,
 * OSC 0/1/2 window titles, DCS/APC/PM/SOS strings that some terminals execute or answer. Before output
 * reaches a terminal emulator (the replay, or an exported .cast played in someone's real terminal), this
 * filter removes every such control *string* and keeps everything that only draws (text, SGR colours,
 * cursor movement). It is a streaming state machine: sequences split across events are handled.
 */

const ESC = 0x1b;
const BEL = 0x07;
/** C1 controls reach a UTF-8 terminal as the two bytes C2 80–C2 9F (a raw 0x9X byte is invalid UTF-8 and drawn as U+FFFD). */
const C2 = 0xc2;
const C1_DCS = 0x90;
const C1_SOS = 0x98;
const C1_ST = 0x9c;
const C1_OSC = 0x9d;
const C1_PM = 0x9e;
const C1_APC = 0x9f;

/** A control string longer than this is cut off (it is being discarded anyway): bounds the filter's state. */
const MAX_STRING = 1 << 20;

type State = 'ground' | 'esc' | 'c2' | 'string' | 'string-esc' | 'string-c2';

const C1_STRINGS: Record<number, string> = { [C1_OSC]: 'OSC', [C1_DCS]: 'DCS', [C1_SOS]: 'SOS', [C1_PM]: 'PM', [C1_APC]: 'APC' };
const ESC_STRINGS: Record<number, string> = { 0x5d: 'OSC', 0x50: 'DCS', 0x58: 'SOS', 0x5e: 'PM', 0x5f: 'APC' };

export class TerminalFilter {
  private state: State = 'ground';
  private stringLength = 0;
  /** How many control strings were removed (shown to the auditor). */
  removed = 0;
  /** The kinds removed, e.g. { 'OSC 52': 1, 'OSC 8': 4 }. */
  readonly kinds: Record<string, number> = {};
  private oscNumber = '';
  private kind = '';

  /** Filters one chunk; returns the bytes that are safe to give to a terminal emulator. */
  push(data: Uint8Array): Uint8Array {
    const out = new Uint8Array(data.length + 2);
    let o = 0;
    for (let i = 0; i < data.length; i++) {
      const b = data[i]!;
      switch (this.state) {
        case 'ground':
          if (b === ESC) this.state = 'esc';
          else if (b === C2) this.state = 'c2';
          else out[o++] = b;
          break;
        case 'esc': {
          const kind = ESC_STRINGS[b];
          if (kind) this.begin(kind);
          else if (b === ESC) out[o++] = ESC; // ESC ESC: the first one is plain, the second may start a sequence
          else {
            out[o++] = ESC;
            out[o++] = b;
            this.state = 'ground';
          }
          break;
        }
        case 'c2': {
          const kind = C1_STRINGS[b];
          if (kind) this.begin(kind);
          else {
            out[o++] = C2;
            if (b === ESC) this.state = 'esc';
            else if (b === C2) this.state = 'c2';
            else {
              out[o++] = b;
              this.state = 'ground';
            }
          }
          break;
        }
        case 'string':
          if (b === BEL && this.kind === 'OSC') this.end();
          else if (b === ESC) this.state = 'string-esc';
          else if (b === C2) this.state = 'string-c2';
          else this.grow(b);
          break;
        case 'string-esc':
        case 'string-c2':
          if ((this.state === 'string-esc' && b === 0x5c) /* ESC \ */ || (this.state === 'string-c2' && b === C1_ST)) this.end();
          else {
            this.state = 'string';
            this.grow(b);
          }
          break;
      }
    }
    return out.subarray(0, o);
  }

  /** Bytes held back at the end of the stream (a lone trailing ESC or C2 byte). */
  flush(): Uint8Array {
    const s = this.state;
    this.state = 'ground';
    return s === 'esc' ? new Uint8Array([ESC]) : s === 'c2' ? new Uint8Array([C2]) : new Uint8Array(0);
  }

  private begin(kind: string): void {
    this.state = 'string';
    this.kind = kind;
    this.oscNumber = '';
    this.stringLength = 0;
  }

  private grow(b: number): void {
    if (this.kind === 'OSC' && this.stringLength === this.oscNumber.length && b >= 0x30 && b <= 0x39 && this.oscNumber.length < 6) this.oscNumber += String.fromCharCode(b);
    this.stringLength++;
    if (this.stringLength > MAX_STRING) this.end();
  }

  private end(): void {
    const name = this.kind === 'OSC' ? `OSC ${this.oscNumber || '?'}` : this.kind;
    this.kinds[name] = (this.kinds[name] ?? 0) + 1;
    this.removed++;
    this.state = 'ground';
  }
}

/** Describes what a filter removed, for the auditor ("3 control strings neutralised: OSC 52 ×1, OSC 8 ×2"). */
export function describeRemoved(f: TerminalFilter): string {
  if (!f.removed) return '';
  const names: Record<string, string> = { 'OSC 52': 'clipboard write', 'OSC 8': 'hyperlink', 'OSC 0': 'window title', 'OSC 1': 'icon title', 'OSC 2': 'window title', DCS: 'device control' };
  const parts = Object.entries(f.kinds).map(([k, n]) => `${k}${names[k] ? ` (${names[k]})` : ''} ×${n}`);
  return `${f.removed} terminal control string${f.removed === 1 ? '' : 's'} neutralised: ${parts.join(', ')}`;
}
