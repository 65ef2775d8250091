/**
 * `kubectl cp` is an exec of `tar` (download: `tar cf - <path>`, upload: `tar -xmf - [-C <dir>]`): such an
 * exec is also recorded as a `transfer` of what crossed the gateway — the tar stream's bytes and SHA-256
 * (the masked bytes the client got for a download; the bytes as forwarded for an upload), the path as the
 * command named it, and whether the command succeeded. The stream itself is still recorded as the exec's
 * output or input.
 */
import { createHash, type Hash } from 'node:crypto';
import { programOf } from './stream-request.ts';

export interface TarTransfer {
  direction: 'upload' | 'download';
  path: string;
  bytes: number;
  hash: Hash;
}

/** The transfer a `tar` exec is, or undefined when argv is not a tar that creates or extracts on stdio. */
export function tarTransfer(argv: readonly string[]): TarTransfer | undefined {
  if (programOf(argv) !== 'tar' || argv.length < 2) return undefined;
  const mode = argv[1]!.replace(/^-/, '');
  if (!/^[a-zA-Z]+$/.test(mode) || !mode.includes('f') || argv[2] !== '-') return undefined;
  const rest = argv.slice(3);
  const c = rest.indexOf('-C');
  const dir = c >= 0 ? rest[c + 1] : undefined;
  const names = rest.filter((a, i) => !a.startsWith('-') && !(c >= 0 && i === c + 1));
  if (mode.includes('c') && !mode.includes('x')) return { direction: 'download', path: [dir, ...names].filter(Boolean).join(' ') || '.', bytes: 0, hash: createHash('sha256') };
  if (mode.includes('x') && !mode.includes('c')) return { direction: 'upload', path: dir ?? '.', bytes: 0, hash: createHash('sha256') };
  return undefined;
}
