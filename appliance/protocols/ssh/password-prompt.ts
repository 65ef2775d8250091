/**
 * What a shell's output says about the input that follows: whether the target is asking for a secret (a
 * password prompt: `[sudo] password for deploy:`, `Password:`, `New password:`, `Enter passphrase for key …:`),
 * and whether a full-screen program holds the terminal (the alternate screen, `ESC [?1049h` … `ESC [?1049l`).
 * It reads the raw output in memory only (never recorded; recorded output is masked elsewhere) and keeps a
 * bounded tail of it. Whether the terminal's echo is off cannot be read over SSH (termios lives on the target),
 * so the caller infers it: after a prompt, typed bytes the target does not echo back (shell-secret.ts).
 */

/** The last line of output, as a prompt reads: escape sequences and control characters removed. */
export function lastLine(tail: string): string {
  const clean = tail
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '')
    .replace(/\x1b[@-_]/g, '');
  const nl = Math.max(clean.lastIndexOf('\n'), clean.lastIndexOf('\r'));
  // eslint-disable-next-line no-control-regex
  return clean.slice(nl + 1).replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

const PROMPT = /(?:password|passphrase|passcode|pass phrase|\bpin\b|one-time code|verification code|otp)\b[^:\n]{0,120}:\s*$/i;

/** Whether this last line of output asks for a secret. */
export function isPasswordPrompt(line: string): boolean {
  return line.length <= 200 && PROMPT.test(line);
}

const TAIL = 512;
const ALT_ON = /\x1b\[\?(?:1049|1047|47)h/g;
const ALT_OFF = /\x1b\[\?(?:1049|1047|47)l/g;

export class OutputWatch {
  private tail = '';
  private alt = false;

  /** Feeds raw target output (before masking). */
  push(chunk: Uint8Array): void {
    const text = this.tail + Buffer.from(chunk).toString('latin1');
    // The last switch in the text wins (a program may enter and leave within one read).
    let on = -1;
    let off = -1;
    for (const m of text.matchAll(ALT_ON)) on = m.index;
    for (const m of text.matchAll(ALT_OFF)) off = m.index;
    if (on > off) this.alt = true;
    else if (off > on) this.alt = false;
    // Enough for a switch split across reads and for the prompt check.
    this.tail = text.slice(-TAIL);
  }

  /** A full-screen program holds the terminal (keys are not shell lines). */
  get alternateScreen(): boolean {
    return this.alt;
  }

  /** The target's output ends with a password prompt. */
  get prompting(): boolean {
    return isPasswordPrompt(lastLine(this.tail));
  }
}
