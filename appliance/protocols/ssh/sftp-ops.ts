/**
 * SFTP and scp operations as commands: the recorded text (sftp's own words: `get`, `put`, `rm`…) and the
 * policy facts. Classes: `read` (opening a file for reading, listing a directory) and `write` (everything
 * that changes the target: opening for writing, remove, rename, mkdir, rmdir, setstat, symlink). `command`
 * names the SFTP request (`open`, `opendir`, `remove`, `rename`, `mkdir`, `rmdir`, `setstat`, `symlink`);
 * `objects` are the paths (sftp-paths.ts); tags say how (`sftp`/`scp`, `create`, `truncate`, `append`,
 * `exclusive`, `delete`); attributes `via` and, for opens, `access` (`read`, `write`, `read-write`).
 */
import type { CommandFacts } from '../../policy/engine.ts';
import type { ResolvedPath } from './sftp-paths.ts';

export const OPEN_FLAGS = { READ: 0x1, WRITE: 0x2, APPEND: 0x4, CREAT: 0x8, TRUNC: 0x10, EXCL: 0x20 } as const;

export type Via = 'sftp' | 'scp';

export interface Operation {
  text: string;
  facts: CommandFacts[];
}

function fact(via: Via, cls: 'read' | 'write', command: string, paths: readonly ResolvedPath[], tags: string[] = [], attributes: Record<string, string> = {}): CommandFacts {
  const objects = [...new Set(paths.flatMap((p) => p.objects))];
  return { class: cls, command, tags: [via, ...tags], objects, attributes: { via, ...attributes } };
}

export function openOperation(via: Via, path: ResolvedPath, flags: number): Operation {
  const read = (flags & OPEN_FLAGS.READ) !== 0;
  const write = (flags & (OPEN_FLAGS.WRITE | OPEN_FLAGS.APPEND)) !== 0;
  const access = write ? (read ? 'read-write' : 'write') : 'read';
  const tags = [
    ...(flags & OPEN_FLAGS.CREAT ? ['create'] : []),
    ...(flags & OPEN_FLAGS.TRUNC ? ['truncate'] : []),
    ...(flags & OPEN_FLAGS.APPEND ? ['append'] : []),
    ...(flags & OPEN_FLAGS.EXCL ? ['exclusive'] : []),
  ];
  const verb = access === 'read' ? 'get' : access === 'write' ? 'put' : 'open read-write';
  return { text: `${verb} ${path.shown}`, facts: [fact(via, write ? 'write' : 'read', 'open', [path], tags, { access })] };
}

export function pathOperation(via: Via, op: 'opendir' | 'remove' | 'rmdir' | 'mkdir', path: ResolvedPath): Operation {
  const verb = { opendir: 'ls', remove: 'rm', rmdir: 'rmdir', mkdir: 'mkdir' }[op];
  const tags = op === 'remove' || op === 'rmdir' ? ['delete'] : op === 'mkdir' ? ['create'] : [];
  return { text: `${verb} ${path.shown}`, facts: [fact(via, op === 'opendir' ? 'read' : 'write', op, [path], tags)] };
}

export function renameOperation(via: Via, from: ResolvedPath, to: ResolvedPath): Operation {
  return { text: `rename ${from.shown} ${to.shown}`, facts: [fact(via, 'write', 'rename', [from, to])] };
}

export function symlinkOperation(via: Via, link: ResolvedPath, target: ResolvedPath): Operation {
  return { text: `symlink ${link.shown} -> ${target.shown}`, facts: [fact(via, 'write', 'symlink', [link, target], ['create'])] };
}

/** What a SETSTAT changes, as text and attributes (mode in octal). */
export function setstatOperation(via: Via, path: ResolvedPath, attrs: { mode?: number; uid?: number; gid?: number; size?: number; atime?: number; mtime?: number }): Operation {
  const a: Record<string, string> = {};
  if (typeof attrs.mode === 'number') a['mode'] = (attrs.mode & 0o7777).toString(8).padStart(4, '0');
  if (typeof attrs.uid === 'number') a['uid'] = String(attrs.uid);
  if (typeof attrs.gid === 'number') a['gid'] = String(attrs.gid);
  if (typeof attrs.size === 'number') a['size'] = String(attrs.size);
  if (typeof attrs.mtime === 'number') a['mtime'] = String(attrs.mtime);
  const shown = Object.entries(a).map(([k, v]) => `${k}=${v}`).join(' ');
  const tags = a['size'] !== undefined ? ['truncate'] : [];
  return { text: `setstat ${path.shown}${shown ? ` ${shown}` : ''}`, facts: [fact(via, 'write', 'setstat', [path], tags, a)] };
}
