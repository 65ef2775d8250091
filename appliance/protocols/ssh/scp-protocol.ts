/**
 * The legacy scp protocol's control lines, as OpenSSH's scp reads them (scp.c `sink()`): parsed strictly,
 * so that the relay and the remote scp agree on every line; a line the remote would take differently is
 * refused before it reaches it.
 *   C<mode> <size> <name>\n   a file follows: `size` bytes, then one status byte from the sender
 *   D<mode> 0 <name>\n        enter a directory (recursive copies)
 *   E\n                       leave it
 *   T<mtime> <usec> <atime> <usec>\n   times of the next C/D (-p)
 *   \x01<message>\n / \x02<message>\n  a warning / a fatal error (as a status reply, or from the sender)
 * Each line (and each file's data) is answered by the receiver: \0 (ok), or \x01/\x02 with a message.
 */
import { VigilError } from '../../../shared/errors.ts';

/** OpenSSH reads a control line into a 2048-byte buffer. */
export const MAX_LINE = 2048;
/** Directory nesting the relay follows. */
export const MAX_DEPTH = 64;

export type ScpLine =
  | { kind: 'file'; mode: string; size: number; name: string }
  | { kind: 'dir'; mode: string; name: string }
  | { kind: 'end-dir' }
  | { kind: 'times' }
  | { kind: 'message'; fatal: boolean; message: string };

export class ScpProtocolError extends VigilError {
  constructor(message: string) {
    super('ssh.scp-protocol', message);
  }
}

const FILE = /^C([0-7]{4}) ([0-9]{1,16}) ([^]*)$/;
const DIR = /^D([0-7]{4}) ([0-9]{1,16}) ([^]*)$/;
const TIMES = /^T[0-9]{1,20} [0-9]{1,6} [0-9]{1,20} [0-9]{1,6}$/;

/** A name the relay lets through: one path component, valid UTF-8, no control characters. */
export function nameProblem(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return `a file name the receiver would refuse (${JSON.stringify(name)})`;
  if (name.includes('/')) return 'a file name with a slash (it would write outside the target directory)';
  if (name.includes('\uFFFD')) return 'a file name that is not valid UTF-8, so Vigil cannot name the file';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) return 'a file name with control characters';
  return undefined;
}

/** One control line, without its newline. Throws ScpProtocolError for anything OpenSSH would not read the same way. */
export function parseScpLine(line: Buffer): ScpLine {
  if (line.length === 0) throw new ScpProtocolError('an empty scp control line');
  const first = line[0]!;
  if (first === 1 || first === 2) return { kind: 'message', fatal: first === 2, message: line.subarray(1).toString('utf8') };
  const text = line.toString('utf8');
  switch (text[0]) {
    case 'C': {
      const m = FILE.exec(text);
      if (!m) throw new ScpProtocolError('a malformed scp file line');
      const size = Number(m[2]);
      if (!Number.isSafeInteger(size)) throw new ScpProtocolError('an scp file size out of range');
      const problem = nameProblem(m[3]!);
      if (problem) throw new ScpProtocolError(problem);
      return { kind: 'file', mode: m[1]!, size, name: m[3]! };
    }
    case 'D': {
      const m = DIR.exec(text);
      if (!m) throw new ScpProtocolError('a malformed scp directory line');
      const problem = nameProblem(m[3]!);
      if (problem) throw new ScpProtocolError(problem);
      return { kind: 'dir', mode: m[1]!, name: m[3]! };
    }
    case 'E':
      if (text !== 'E') throw new ScpProtocolError('a malformed scp end-of-directory line');
      return { kind: 'end-dir' };
    case 'T':
      if (!TIMES.test(text)) throw new ScpProtocolError('a malformed scp times line');
      return { kind: 'times' };
    default:
      throw new ScpProtocolError('an unknown scp control line');
  }
}

/** The reply line for a status: \x01 (warning: skip this one) or \x02 (fatal), then the message. */
export function statusLine(fatal: boolean, message: string): Buffer {
  return Buffer.concat([Buffer.from([fatal ? 2 : 1]), Buffer.from(`${message.replace(/\n/g, ' ')}\n`, 'utf8')]);
}

/** The last path component as OpenSSH's scp source names it: trailing slashes dropped, then after the last `/`. */
export function sourceName(path: string): string {
  let p = path;
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}
