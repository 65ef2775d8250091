/**
 * The line a user is typing into an interactive shell, rebuilt from the bytes the client sends, so that Vigil
 * can decide it when Enter is pressed. It follows what readline (emacs mode) and a canonical tty both do with
 * the keys whose effect is certain when the cursor is at the end of the line: printable text (UTF-8), Backspace
 * and DEL, Ctrl-U (kill the line), Ctrl-W (kill the word before), Ctrl-C (abandon the line), and bracketed
 * paste (`ESC [200~ … ESC [201~`, inserted literally, newlines included). Anything whose effect depends on
 * state Vigil cannot see — arrow keys and other escape sequences (cursor moves, history), Tab (completion),
 * Ctrl-R/P/N (history), Ctrl-A/E/K/Y/T… (editing) — makes the line **unknown** until Enter or Ctrl-C.
 * Pure: no I/O; the shell channel forwards the bytes and asks this what the line is.
 */

export type TypedKey =
  /** Bytes that do not end a line: forward them as they are. */
  | { kind: 'bytes'; data: Buffer }
  /** Enter (CR or LF outside a paste): the line it submits, and the Enter byte itself. */
  | { kind: 'enter'; line: LineState; data: Buffer };

export interface LineState {
  text: string;
  /** False when the line was edited in a way Vigil cannot follow; `why` says how. */
  known: boolean;
  why?: string;
}

const PASTE_START = '\x1b[200~';
const PASTE_END = '\x1b[201~';
/** Longest line kept (bytes); a longer one is unknown (the lexer would refuse it anyway). */
const MAX_LINE = 64 * 1024;

export class TypedLine {
  private bytes: number[] = [];
  private unknown: string | undefined;
  private pasting = false;
  /** An escape sequence still arriving (split across reads). */
  private esc: number[] | undefined;

  /** The line so far (for tests and for deciding). */
  get state(): LineState {
    const text = decode(this.bytes);
    if (this.unknown) return { text: text ?? '', known: false, why: this.unknown };
    if (text === undefined) return { text: '', known: false, why: 'the line is not valid UTF-8' };
    return { text, known: true };
  }

  /** True while nothing is typed on the line (what a password prompt check waits for). */
  get empty(): boolean {
    return this.bytes.length === 0 && !this.unknown && !this.pasting;
  }

  reset(): void {
    this.bytes = [];
    this.unknown = undefined;
    this.pasting = false;
    this.esc = undefined;
  }

  /** Feeds one read from the client: runs of bytes to forward, cut at every Enter. */
  push(chunk: Uint8Array): TypedKey[] {
    const out: TypedKey[] = [];
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.esc) {
        this.escape(b);
        continue;
      }
      if ((b === 0x0d || b === 0x0a) && !this.pasting) {
        if (i > from) out.push({ kind: 'bytes', data: Buffer.from(chunk.subarray(from, i)) });
        out.push({ kind: 'enter', line: this.state, data: Buffer.from([b]) });
        this.reset();
        from = i + 1;
        continue;
      }
      this.key(b);
    }
    if (chunk.length > from) out.push({ kind: 'bytes', data: Buffer.from(chunk.subarray(from)) });
    return out;
  }

  private lose(why: string): void {
    this.unknown ??= why;
  }

  private key(b: number): void {
    if (b === 0x1b) {
      this.esc = [b];
      return;
    }
    if (this.pasting) return this.insert(b === 0x0d ? 0x0a : b);
    if (b >= 0x20 && b !== 0x7f) return this.insert(b);
    switch (b) {
      case 0x7f: // DEL, what terminals send for Backspace
      case 0x08: // Ctrl-H
        return this.rubout();
      case 0x15: // Ctrl-U: readline kills back to the start (all of it with the cursor at the end); the tty's VKILL
        if (!this.unknown) this.bytes = [];
        return;
      case 0x17: // Ctrl-W: the word before the cursor, whitespace-delimited (unix-word-rubout, the tty's VWERASE)
        return this.wordRubout();
      case 0x03: // Ctrl-C: the shell abandons the line
        this.reset();
        return;
      case 0x0c: // Ctrl-L: redraws, the line is unchanged
        return;
      case 0x09:
        return this.lose('tab completion');
      case 0x12:
      case 0x10:
      case 0x0e:
        return this.lose('history');
      default:
        return this.lose(`line editing (control character 0x${b.toString(16).padStart(2, '0')})`);
    }
  }

  private insert(b: number): void {
    if (this.bytes.length >= MAX_LINE) return this.lose('the line is too long');
    this.bytes.push(b);
  }

  private rubout(): void {
    if (this.unknown) return;
    // One character: a UTF-8 sequence's continuation bytes go with its lead byte.
    while (this.bytes.length && (this.bytes[this.bytes.length - 1]! & 0xc0) === 0x80) this.bytes.pop();
    this.bytes.pop();
  }

  private wordRubout(): void {
    if (this.unknown) return;
    const ws = (c: number | undefined) => c === 0x20 || c === 0x09 || c === 0x0a;
    while (this.bytes.length && ws(this.bytes[this.bytes.length - 1])) this.bytes.pop();
    while (this.bytes.length && !ws(this.bytes[this.bytes.length - 1])) this.bytes.pop();
  }

  /** One byte of an escape sequence: CSI (`ESC [ … final`), SS3 (`ESC O x`), or ESC plus one key (Alt-x). */
  private escape(b: number): void {
    const seq = this.esc!;
    seq.push(b);
    if (seq.length === 2) {
      if (b === 0x5b || b === 0x4f) return; // CSI, SS3: more follows
      this.esc = undefined;
      if (this.pasting) return this.insertAll(seq);
      return this.lose('line editing (Alt or Escape key)');
    }
    if (seq[1] === 0x4f || (b >= 0x40 && b <= 0x7e) || seq.length > 32) {
      this.esc = undefined;
      const s = String.fromCharCode(...seq);
      if (s === PASTE_START) {
        this.pasting = true;
        return;
      }
      if (s === PASTE_END) {
        this.pasting = false;
        return;
      }
      if (this.pasting) return this.insertAll(seq);
      this.lose(/^\x1b[[O][ABCDHF]$/.test(s) ? 'arrow keys (cursor or history)' : 'line editing (escape sequence)');
    }
  }

  private insertAll(seq: number[]): void {
    for (const c of seq) this.insert(c);
  }
}

function decode(bytes: number[]): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}
