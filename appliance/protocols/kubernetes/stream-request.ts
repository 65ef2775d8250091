/**
 * What an exec, attach or port-forward request asks for, read from its query exactly as the API server reads
 * it (url.ParseQuery, then the parameter codec: a string field takes the first value, `command` every value
 * in order, a bool is false only when absent, "0" or "false"), and the query Vigil sends on instead: rebuilt
 * from what was read, so that the API server runs exactly the argv policy decided on and approvers saw,
 * whatever encoding the client used (a repeated `container`, `%63ommand`, `+` for a space, unknown keys).
 * A query Go would read differently from this parser (a `;`, a broken escape, bytes that are not UTF-8) is
 * refused rather than guessed (rule vigil/request).
 */
import type { CommandFacts } from '../../policy/engine.ts';

export class StreamRequestError extends Error {}

export type StreamKind = 'exec' | 'attach' | 'portforward';

export interface StreamRequest {
  kind: StreamKind;
  /** exec only: the argv the container runs. */
  command: string[];
  /** '' lets the API server pick the pod's only (or default) container. */
  container: string;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /** portforward only: ports named in the query (the WebSocket tunnel names them per stream instead). */
  ports: string[];
  /** The query sent to the API server, rebuilt from the fields above. */
  canonicalQuery: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Go's QueryUnescape, strictly: `+` is a space, %XX a byte; the result must be UTF-8. */
function unescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new StreamRequestError('the query holds an invalid percent-encoding');
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (c === 0x2b) bytes.push(0x20);
    else if (c > 0x7e || c < 0x21) throw new StreamRequestError('the query holds a byte that is not printable ASCII');
    else bytes.push(c);
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw new StreamRequestError('a query value is not UTF-8');
  }
}

/** url.ParseQuery, refusing what Go would skip or read otherwise. */
export function parseQueryStrict(search: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (search.includes(';')) throw new StreamRequestError('a semicolon in the query (Go refuses it as a separator)');
  for (const part of search.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = unescape(eq < 0 ? part : part.slice(0, eq));
    const v = unescape(eq < 0 ? '' : part.slice(eq + 1));
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

/** Convert_Slice_string_To_bool. */
function bool(q: Map<string, string[]>, k: string): boolean {
  const v = q.get(k)?.[0];
  return v !== undefined && v !== '0' && v.toLowerCase() !== 'false';
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

export function streamRequest(kind: StreamKind, search: string): StreamRequest {
  const q = parseQueryStrict(search);
  const r: StreamRequest = {
    kind,
    command: kind === 'exec' ? [...(q.get('command') ?? [])] : [],
    container: kind === 'portforward' ? '' : (q.get('container')?.[0] ?? ''),
    stdin: kind !== 'portforward' && bool(q, 'stdin'),
    stdout: kind !== 'portforward' && bool(q, 'stdout'),
    stderr: kind !== 'portforward' && bool(q, 'stderr'),
    tty: kind !== 'portforward' && bool(q, 'tty'),
    ports: kind === 'portforward' ? [...(q.get('ports') ?? [])] : [],
    canonicalQuery: '',
  };
  const parts: string[] = [];
  for (const c of r.command) parts.push(`command=${enc(c)}`);
  if (r.container) parts.push(`container=${enc(r.container)}`);
  for (const f of ['stdin', 'stdout', 'stderr', 'tty'] as const) if (r[f]) parts.push(`${f}=true`);
  for (const p of r.ports) parts.push(`ports=${enc(p)}`);
  r.canonicalQuery = parts.join('&');
  return r;
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'mksh', 'busybox']);

/** The program's name as policy matches it: the basename of argv[0]. */
export function programOf(argv: readonly string[]): string {
  const a = argv[0] ?? '';
  return a.slice(a.lastIndexOf('/') + 1);
}

/**
 * The request's facts plus what the stream runs: `program` (basename of argv[0]), `argv` (the words joined by
 * spaces, for globs such as `*rm -rf*`), `script` (what a shell's `-c` runs), `container`, `tty`, `stdin`;
 * tags `shell`, `tty`, `stdin`.
 */
export function streamFacts(base: CommandFacts, r: StreamRequest): CommandFacts {
  const tags = [...base.tags];
  const attributes: Record<string, string> = { ...base.attributes, container: r.container, tty: String(r.tty), stdin: String(r.stdin) };
  if (r.kind === 'exec') {
    const program = programOf(r.command);
    attributes['program'] = program;
    attributes['argv'] = r.command.join(' ');
    if (SHELLS.has(program)) {
      tags.push('shell');
      const c = r.command.indexOf('-c');
      if (c > 0 && c + 1 < r.command.length) attributes['script'] = r.command[c + 1]!;
    }
  }
  if (r.kind === 'portforward') attributes['ports'] = r.ports.join(',');
  if (r.tty) tags.push('tty');
  if (r.stdin) tags.push('stdin');
  return { ...base, tags, attributes };
}
