/**
 * Which SFTP requests may overtake which. SFTP lets a server answer out of order (replies carry the request
 * id), and a request held for approval must not stall the session; but requests that touch the same thing
 * keep their order, as a client that pipelines them expects (draft-ietf-secsh-filexfer-02 §6: requests on
 * the same file are processed in order). Each request names what it touches as keys with a mode:
 *   - a handle (`h:<handle>`): READs share it (they run concurrently: the download stream orders their
 *     bytes), every other request on the handle (WRITE, CLOSE, FSTAT, FSETSTAT, READDIR) has it alone;
 *   - a path (`p:<lexical absolute path>`): reading its metadata or opening it for reading shares it,
 *     anything that changes it (open for writing, remove, rename, mkdir, rmdir, setstat, symlink) has it
 *     alone; and every request on a path shares each of its parent directories, so a rename or remove of a
 *     directory waits for (and holds back) the requests beneath it.
 * A request waits for the earlier requests that hold one of its keys in a conflicting mode, and for nothing
 * else. Paths are compared lexically: two spellings that reach one file only through a symlink are not
 * ordered (a client that pipelines dependent requests names the file the same way).
 */
import { posix } from 'node:path';

export type Mode = 'shared' | 'alone';
export interface Claim {
  key: string;
  mode: Mode;
}

interface KeyState {
  /** The last request that had the key alone (or a settled promise). */
  alone: Promise<void> | undefined;
  /** Requests sharing the key since then. */
  shared: Set<Promise<void>>;
}

export class RequestOrder {
  private readonly keys = new Map<string, KeyState>();
  private readonly running = new Set<Promise<void>>();

  /** Runs `task` once every earlier conflicting request has finished. `task` must not reject. */
  run(claims: readonly Claim[], task: () => Promise<void>): void {
    const before: Promise<void>[] = [];
    for (const c of claims) {
      const s = this.keys.get(c.key);
      if (!s) continue;
      if (s.alone) before.push(s.alone);
      if (c.mode === 'alone') before.push(...s.shared);
    }
    const p = (before.length ? Promise.all(before).then(task) : task()).catch(() => undefined);
    this.running.add(p);
    for (const c of claims) {
      let s = this.keys.get(c.key);
      if (!s) this.keys.set(c.key, (s = { alone: undefined, shared: new Set() }));
      if (c.mode === 'alone') {
        s.alone = p;
        s.shared.clear();
      } else s.shared.add(p);
    }
    void p.then(() => {
      this.running.delete(p);
      for (const c of claims) {
        const s = this.keys.get(c.key);
        if (!s) continue;
        s.shared.delete(p);
        if (s.alone === p) s.alone = undefined;
        if (!s.alone && s.shared.size === 0) this.keys.delete(c.key);
      }
    });
  }

  /** Resolves once every request started so far has finished. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }

  /** How many keys are tracked (tests: nothing is kept once requests finish). */
  get tracked(): number {
    return this.keys.size;
  }
}

export function handleClaim(handle: Buffer, mode: Mode): Claim[] {
  return [{ key: `h:${handle.toString('hex')}`, mode }];
}

/** The claims of a request on `abs` (a lexical absolute path): the path itself in `mode`, its parents shared. */
export function pathClaims(abs: string, mode: Mode): Claim[] {
  const out: Claim[] = [{ key: `p:${abs}`, mode }];
  for (let d = posix.dirname(abs); ; d = posix.dirname(d)) {
    out.push({ key: `p:${d}`, mode: 'shared' });
    if (d === '/' || d === '.') break;
  }
  return out;
}
