/**
 * Paths of SFTP and scp operations as policy sees them (`when.objects`). A client names paths relative to
 * the login's home directory, with `..`, `.`, repeated slashes and symlinks; policy globs are written for
 * absolute paths. Each path becomes up to two objects:
 *   - the lexical path: absolute (against the home directory the target reported), `.`/`..`/`//` resolved;
 *   - the target's canonical path (its REALPATH, which follows symlinks), when it differs — for a path that
 *     does not exist yet, the canonical parent directory plus the last name.
 * A block rule (objectsMatch `any`) matches when either does; an allow rule (`all`) needs both. What the
 * target resolves between the decision and the operation (a symlink swapped in that instant) is not seen.
 */
import { posix } from 'node:path';

export interface ResolvedPath {
  /** What is recorded (and shown): the lexical absolute path. */
  shown: string;
  /** What policy matches: the lexical path and, when different, the canonical one. */
  objects: string[];
}

/** The lexical absolute path of `p` against `home` (never fails, never touches the target). */
export function lexicalPath(home: string, p: string): string {
  const abs = p.startsWith('/') ? p : posix.join(home || '/', p);
  const n = posix.normalize(abs);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** Whether a path from a client can be decided on at all: ssh2 decodes it as UTF-8, so U+FFFD means bytes Vigil cannot name. */
export function undecidablePath(p: string): string | undefined {
  if (p.includes('\uFFFD')) return 'the path is not valid UTF-8, so Vigil cannot tell which file the target would use';
  if (p.includes('\0')) return 'the path holds a NUL byte';
  return undefined;
}

export async function resolvePath(home: string, p: string, realpath: (p: string) => Promise<string>): Promise<ResolvedPath> {
  const shown = lexicalPath(home, p);
  let canonical: string | undefined;
  try {
    canonical = await realpath(shown);
  } catch {
    if (shown !== '/') {
      try {
        canonical = posix.join(await realpath(posix.dirname(shown)), posix.basename(shown));
      } catch {
        canonical = undefined;
      }
    }
  }
  const objects = canonical && canonical !== shown ? [shown, canonical] : [shown];
  return { shown, objects };
}
