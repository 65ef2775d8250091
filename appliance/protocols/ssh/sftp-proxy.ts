/**
 * The SFTP proxy: ssh2's server-side SFTP stream towards the client, the target's SFTP session behind it.
 * Requests run concurrently, except where they touch the same handle or path (sftp-order.ts says which wait
 * for which): an operation held for approval holds back only the requests on what it touches, and a
 * download's READs are answered as their bytes are scanned. Handles are Vigil's own (a counter), mapped to
 * the target's, so a client can only use a handle this proxy opened and saw decided.
 *
 * Decided through the pipeline (sftp-decide.ts), committed before they reach the target: OPEN (read or
 * write), OPENDIR, REMOVE, RENAME, MKDIR, RMDIR, SETSTAT, FSETSTAT, SYMLINK. Relayed without a decision
 * (metadata, or data of a handle already decided): STAT, LSTAT, FSTAT, REALPATH, READLINK, READDIR, READ,
 * WRITE, CLOSE. EXTENDED requests are answered OP_UNSUPPORTED (Vigil advertises no extension, so OpenSSH
 * sends none). Each file handle's data becomes one `transfer` event per direction when it is closed (or the
 * channel ends), and downloads are checked for clear card numbers (sftp-download.ts).
 */
import type { Attributes, InputAttributes } from 'ssh2';
import type { PipelineSession } from '../../pipeline/session.ts';
import { decideOperation, type Gate, type OperationContext } from './sftp-decide.ts';
import { DownloadWindow, ReadAheadBudget } from './sftp-download.ts';
import { OPEN_FLAGS, openOperation, pathOperation, renameOperation, setstatOperation, symlinkOperation, type Operation } from './sftp-ops.ts';
import { handleClaim, pathClaims, RequestOrder, type Claim } from './sftp-order.ts';
import { lexicalPath, resolvePath, undecidablePath, type ResolvedPath } from './sftp-paths.ts';
import type { SftpClientEnd } from './sftp-frame-server.ts';
import { STATUS, statusOf, type SftpTarget } from './sftp-target.ts';
import { Transfer } from './sftp-transfer.ts';

/** More open handles than this at once is refused (each holds a target handle and a read-ahead window). */
export const MAX_HANDLES = 256;
/** The largest READ answered (OpenSSH asks for 32 KiB–256 KiB). */
const MAX_READ = 256 * 1024;
/** Read-ahead in flight to the target per SFTP session, over all its handles (two downloads at full depth). */
const READ_AHEAD_BUDGET = 4 * 1024 * 1024;

interface FileHandle {
  kind: 'file';
  target: Buffer;
  path: ResolvedPath;
  command: number;
  flags: number;
  download?: { transfer: Transfer; window: DownloadWindow; eof: boolean };
  upload?: { transfer: Transfer };
  /** Why no more data moves on this handle (a clear card number was refused, a write failed). */
  blocked?: string;
  failed?: string;
}
interface DirHandle {
  kind: 'dir';
  target: Buffer;
}

export interface SftpProxyOptions extends OperationContext {
  /** ssh2's SFTP server stream, or Vigil's own framing of the raw channel (sftp-frame-server.ts). */
  client: SftpClientEnd;
  clearPan: 'block' | 'allow';
}

/**
 * The target side, once Vigil has opened it: its SFTP session and the login's home directory as the target
 * reported it (REALPATH "."), which relative paths resolve against.
 */
export interface SftpTargetSide {
  target: SftpTarget;
  home: string;
}

export const PAN_BLOCKED = 'vigil: refused: the file holds a clear card number (policy ssh.transfers.clearPan: block)';

export class SftpProxy {
  private readonly handles = new Map<string, FileHandle | DirHandle>();
  private readonly readAhead = new ReadAheadBudget(READ_AHEAD_BUDGET);
  private nextHandle = 0;
  /** OPEN and OPENDIR requests admitted and not yet answered (they count against MAX_HANDLES). */
  private opening = 0;
  private readonly order = new RequestOrder();
  /** Requests that arrived before the target side settled, in arrival order; undefined once it has. */
  private early: (() => void)[] | undefined = [];
  private readonly session: PipelineSession;
  private side: SftpTargetSide | undefined;
  /** Why there is no target side (no grant, target down, no SFTP there): every request is refused with it. */
  private unavailable: string | undefined;

  /**
   * Requests that arrive before `side` settles wait for it (OpenSSH sends its first requests without waiting
   * for the subsystem to be accepted, so the channel is accepted at once).
   */
  constructor(
    private readonly o: SftpProxyOptions,
    side: Promise<SftpTargetSide | { error: string }>,
  ) {
    this.session = o.session;
    const c = o.client;
    void side.then((s) => {
      if ('error' in s) this.unavailable = s.error;
      else this.side = s;
      const early = this.early!;
      this.early = undefined;
      for (const go of early) go();
    });
    // Each request: what it touches (its claims, sftp-order.ts), then what it does.
    const on = (ev: string, claims: (...args: never[]) => Claim[], run: (id: number, ...args: never[]) => Promise<void>) =>
      c.on(ev, (id: number, ...args: never[]) => {
        const go = () => {
          if (this.unavailable) return this.status(id, STATUS.FAILURE, `vigil: ${this.unavailable}`);
          this.order.run(claims(...args), () => run(id, ...args).catch((e) => this.status(id, statusOf(e).code, statusOf(e).message)));
        };
        if (this.early) this.early.push(go);
        else go();
      });
    const t = () => this.t();
    const path = (mode: 'shared' | 'alone') => (p: string) => pathClaims(this.abs(p), mode);
    const handle = (mode: 'shared' | 'alone') => (h: Buffer) => handleClaim(h, mode);
    const writing = (flags: number) => (flags & (OPEN_FLAGS.WRITE | OPEN_FLAGS.APPEND | OPEN_FLAGS.CREAT | OPEN_FLAGS.TRUNC)) !== 0;
    on('OPEN', (p: string, flags: number) => pathClaims(this.abs(p), writing(flags) ? 'alone' : 'shared'), (id, p: string, flags: number, attrs: Attributes) => this.open(id, p, flags, attrs));
    on('OPENDIR', path('shared'), (id, p: string) => this.opendir(id, p));
    on('READ', handle('shared'), (id, h: Buffer, off: number, len: number) => this.read(id, h, off, len));
    on('WRITE', handle('alone'), (id, h: Buffer, off: number, data: Buffer) => this.write(id, h, off, data));
    on('CLOSE', handle('alone'), (id, h: Buffer) => this.close(id, h));
    on('READDIR', handle('alone'), (id, h: Buffer) => this.readdir(id, h));
    on('FSTAT', handle('alone'), (id, h: Buffer) => this.fstat(id, h));
    on('FSETSTAT', handle('alone'), (id, h: Buffer, attrs: Attributes) => this.fsetstat(id, h, attrs));
    on('STAT', path('shared'), (id, p: string) => this.relay(id, p, (q) => t().stat(q).then((a) => c.attrs(id, a))));
    on('LSTAT', path('shared'), (id, p: string) => this.relay(id, p, (q) => t().lstat(q).then((a) => c.attrs(id, a))));
    on('REALPATH', path('shared'), (id, p: string) => this.relay(id, p, (q) => t().realpath(q).then((r) => c.name(id, [{ filename: r, longname: r, attrs: {} as Attributes }]))));
    on('READLINK', path('shared'), (id, p: string) => this.relay(id, p, (q) => t().readlink(q).then((r) => c.name(id, [{ filename: r, longname: r, attrs: {} as Attributes }]))));
    on('REMOVE', path('alone'), (id, p: string) => this.pathOp(id, 'remove', p));
    on('RMDIR', path('alone'), (id, p: string) => this.pathOp(id, 'rmdir', p));
    on('MKDIR', path('alone'), (id, p: string, attrs: Attributes) => this.pathOp(id, 'mkdir', p, attrs));
    on('RENAME', (from: string, to: string) => [...pathClaims(this.abs(from), 'alone'), ...pathClaims(this.abs(to), 'alone')], (id, from: string, to: string) => this.rename(id, from, to));
    on('SETSTAT', path('alone'), (id, p: string, attrs: Attributes) => this.setstat(id, p, attrs));
    // ssh2 emits (link, target) for OpenSSH clients, which send the two swapped (see sftp-target.ts).
    on('SYMLINK', path('alone'), (id, link: string, target: string) => this.symlink(id, link, target));
    on('EXTENDED', () => [], async (id) => this.status(id, STATUS.OP_UNSUPPORTED, 'extension not supported through Vigil'));
  }

  /** A client's path as the ordering compares it (lexical, absolute against the home directory). */
  private abs(p: string): string {
    return lexicalPath(this.side?.home ?? '/', p);
  }

  private t(): SftpTarget {
    return this.side!.target;
  }

  /** Waits for the requests in flight; then records every transfer still open as aborted. */
  async end(reason: string): Promise<void> {
    await this.order.idle();
    for (const h of this.handles.values()) {
      if (h.kind !== 'file') continue;
      h.download?.transfer.finish('aborted', reason);
      h.upload?.transfer.finish('aborted', reason);
      if (!h.download && !h.upload) (h.flags & (OPEN_FLAGS.WRITE | OPEN_FLAGS.APPEND) ? this.transferOf(h, 'upload') : this.transferOf(h, 'download')).transfer.finish('aborted', reason);
    }
    this.handles.clear();
  }

  private status(id: number, code: number, message?: string): void {
    try {
      this.o.client.status(id, code, message);
    } catch {
      /* the client's channel is gone */
    }
  }

  private async resolve(path: string): Promise<ResolvedPath> {
    return resolvePath(this.side!.home, path, (p) => this.t().realpath(p));
  }

  /** Decides an operation on `paths`; answers the client itself when it is refused. */
  private async gate(id: number, paths: readonly string[], op: (resolved: ResolvedPath[]) => Operation): Promise<{ gate: Gate; resolved: ResolvedPath[] }> {
    const resolved = await Promise.all(paths.map((p) => this.resolve(p)));
    const bad = paths.map(undecidablePath).find((r) => r);
    const gate = await decideOperation(this.o, 'sftp', op(resolved), bad ? { rule: 'vigil/sftp-path', reason: bad } : undefined);
    if (!gate.ok) this.status(id, STATUS.PERMISSION_DENIED, gate.message);
    return { gate, resolved };
  }

  private async relay(id: number, path: string, run: (p: string) => Promise<unknown>): Promise<void> {
    try {
      await run(path);
    } catch (e) {
      const s = statusOf(e);
      this.status(id, s.code, s.message);
    }
  }

  private addHandle(h: FileHandle | DirHandle): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.nextHandle++);
    this.handles.set(b.toString('hex'), h);
    return b;
  }

  private handle(h: Buffer): FileHandle | DirHandle | undefined {
    return this.handles.get(h.toString('hex'));
  }

  private async open(id: number, path: string, flags: number, attrs: Attributes): Promise<void> {
    if (this.handles.size + this.opening >= MAX_HANDLES) return this.status(id, STATUS.FAILURE, `vigil: more than ${MAX_HANDLES} open handles`);
    this.opening++;
    try {
      const { gate, resolved } = await this.gate(id, [path], ([p]) => openOperation('sftp', p!, flags));
      if (!gate.ok) return;
      const p = resolved[0]!;
      const target = await this.t().open(p.shown, flags, inputAttrs(attrs));
      this.o.client.handle(id, this.addHandle({ kind: 'file', target, path: p, command: gate.id, flags }));
    } catch (e) {
      const s = statusOf(e);
      this.status(id, s.code, s.message);
    } finally {
      this.opening--;
    }
  }

  private async opendir(id: number, path: string): Promise<void> {
    if (this.handles.size + this.opening >= MAX_HANDLES) return this.status(id, STATUS.FAILURE, `vigil: more than ${MAX_HANDLES} open handles`);
    this.opening++;
    try {
      const { gate, resolved } = await this.gate(id, [path], ([p]) => pathOperation('sftp', 'opendir', p!));
      if (!gate.ok) return;
      const target = await this.t().opendir(resolved[0]!.shown);
      this.o.client.handle(id, this.addHandle({ kind: 'dir', target }));
    } catch (e) {
      const s = statusOf(e);
      this.status(id, s.code, s.message);
    } finally {
      this.opening--;
    }
  }

  private transferOf(h: FileHandle, direction: 'upload'): { transfer: Transfer };
  private transferOf(h: FileHandle, direction: 'download'): { transfer: Transfer; window: DownloadWindow; eof: boolean };
  private transferOf(h: FileHandle, direction: 'upload' | 'download'): { transfer: Transfer } {
    const where = { channel: this.o.channel, command: h.command };
    if (direction === 'upload') return (h.upload ??= { transfer: new Transfer(this.session, h.path.shown, 'upload', where) });
    const t = this.t();
    const fetch = t.readParts ? (pos: number, len: number) => t.readParts!(h.target, pos, Math.min(len, MAX_READ)) : (pos: number, len: number) => t.read(h.target, pos, Math.min(len, MAX_READ));
    return (h.download ??= { transfer: new Transfer(this.session, h.path.shown, 'download', where), window: new DownloadWindow(fetch, this.readAhead), eof: false });
  }

  private async read(id: number, hb: Buffer, off: number, len: number): Promise<void> {
    const h = this.handle(hb);
    if (!h || h.kind !== 'file') return this.status(id, STATUS.FAILURE, 'vigil: invalid handle');
    if (h.blocked) return this.status(id, STATUS.PERMISSION_DENIED, h.blocked);
    const d = this.transferOf(h, 'download');
    let r;
    try {
      r = await d.window.read(off, Math.min(len, MAX_READ));
    } catch (e) {
      const s = statusOf(e);
      return this.status(id, s.code, s.message);
    }
    // Another READ on the handle, answered while this one waited, was refused for card data: nothing more moves.
    if (h.blocked) return this.status(id, STATUS.PERMISSION_DENIED, h.blocked);
    if (r.pan) {
      if (this.o.clearPan === 'block') {
        h.blocked = PAN_BLOCKED;
        return this.status(id, STATUS.PERMISSION_DENIED, PAN_BLOCKED);
      }
      d.transfer.note = 'the file holds a clear card number, delivered as policy ssh.transfers.clearPan: allow permits';
    }
    if (r.length === 0) {
      if (d.transfer.hashedThrough(off)) d.eof = true;
      else if (off >= d.transfer.bytes) d.eof = true; // non-sequential reads that reached the end: complete, unhashed
      return this.status(id, STATUS.EOF);
    }
    let at = off;
    for (const part of r.parts) {
      d.transfer.add(at, part);
      at += part.length;
    }
    // Vigil's framing writes the views as they are; ssh2's SFTP stream takes one buffer.
    if (this.o.client.dataParts) this.o.client.dataParts(id, r.parts, r.length);
    else this.o.client.data(id, r.data);
  }

  private async write(id: number, hb: Buffer, off: number, data: Buffer): Promise<void> {
    const h = this.handle(hb);
    if (!h || h.kind !== 'file') return this.status(id, STATUS.FAILURE, 'vigil: invalid handle');
    if (!(h.flags & (OPEN_FLAGS.WRITE | OPEN_FLAGS.APPEND))) return this.status(id, STATUS.PERMISSION_DENIED, 'vigil: the handle was not opened for writing');
    if (h.failed) return this.status(id, STATUS.FAILURE, h.failed);
    const u = this.transferOf(h, 'upload');
    try {
      await this.t().write(h.target, off, data);
    } catch (e) {
      const s = statusOf(e);
      h.failed = `the target refused a write: ${s.message}`;
      return this.status(id, s.code, s.message);
    }
    u.transfer.add(off, data);
    this.status(id, STATUS.OK);
  }

  private async close(id: number, hb: Buffer): Promise<void> {
    const h = this.handle(hb);
    if (!h) return this.status(id, STATUS.FAILURE, 'vigil: invalid handle');
    this.handles.delete(hb.toString('hex'));
    if (h.kind === 'dir') return this.relay(id, '', () => this.t().close(h.target).then(() => this.status(id, STATUS.OK)));
    // A download is complete when its reads reached the end of the file (or covered all of it).
    let size: number | undefined;
    if (!h.upload && !h.download?.eof) size = await this.t().fstat(h.target).then((a) => a.size, () => undefined);
    let closeError: string | undefined;
    try {
      await this.t().close(h.target);
    } catch (e) {
      closeError = statusOf(e).message;
    }
    const writing = (h.flags & (OPEN_FLAGS.WRITE | OPEN_FLAGS.APPEND)) !== 0;
    if (writing || h.upload) {
      const t = this.transferOf(h, 'upload').transfer;
      if (h.failed) t.finish('failed', h.failed);
      else if (closeError) t.finish('failed', `the target could not close the file: ${closeError}`);
      else t.finish('complete');
    }
    if (h.download || !writing) {
      const d = this.transferOf(h, 'download');
      if (h.blocked) d.transfer.finish('blocked', 'the file holds a clear card number (policy ssh.transfers.clearPan: block)');
      else if (d.eof || (size !== undefined && d.transfer.hashedThrough(size))) d.transfer.finish('complete');
      else d.transfer.finish('aborted', 'the client closed the file before reading all of it');
    }
    if (closeError) this.status(id, STATUS.FAILURE, closeError);
    else this.status(id, STATUS.OK);
  }

  private async readdir(id: number, hb: Buffer): Promise<void> {
    const h = this.handle(hb);
    if (!h || h.kind !== 'dir') return this.status(id, STATUS.FAILURE, 'vigil: invalid handle');
    await this.relay(id, '', async () => {
      const list = await this.t().readdir(h.target);
      if (list === null) this.status(id, STATUS.EOF);
      else this.o.client.name(id, list);
    });
  }

  private async fstat(id: number, hb: Buffer): Promise<void> {
    const h = this.handle(hb);
    if (!h) return this.status(id, STATUS.FAILURE, 'vigil: invalid handle');
    await this.relay(id, '', () => this.t().fstat(h.target).then((a) => this.o.client.attrs(id, a)));
  }

  private async fsetstat(id: number, hb: Buffer, attrs: Attributes): Promise<void> {
    const h = this.handle(hb);
    if (!h || h.kind !== 'file') return this.status(id, STATUS.FAILURE, 'vigil: invalid handle');
    const gate = await decideOperation(this.o, 'sftp', setstatOperation('sftp', h.path, attrs));
    if (!gate.ok) return this.status(id, STATUS.PERMISSION_DENIED, gate.message);
    await this.relay(id, '', () => this.t().fsetstat(h.target, inputAttrs(attrs)).then(() => this.status(id, STATUS.OK)));
  }

  private async setstat(id: number, path: string, attrs: Attributes): Promise<void> {
    const { gate, resolved } = await this.gate(id, [path], ([p]) => setstatOperation('sftp', p!, attrs));
    if (!gate.ok) return;
    await this.relay(id, '', () => this.t().setstat(resolved[0]!.shown, inputAttrs(attrs)).then(() => this.status(id, STATUS.OK)));
  }

  private async pathOp(id: number, op: 'remove' | 'rmdir' | 'mkdir', path: string, attrs?: Attributes): Promise<void> {
    const { gate, resolved } = await this.gate(id, [path], ([p]) => pathOperation('sftp', op, p!));
    if (!gate.ok) return;
    const p = resolved[0]!.shown;
    const t = this.t();
    await this.relay(id, '', () => (op === 'remove' ? t.remove(p) : op === 'rmdir' ? t.rmdir(p) : t.mkdir(p, inputAttrs(attrs ?? ({} as Attributes)))).then(() => this.status(id, STATUS.OK)));
  }

  private async rename(id: number, from: string, to: string): Promise<void> {
    const { gate, resolved } = await this.gate(id, [from, to], ([a, b]) => renameOperation('sftp', a!, b!));
    if (!gate.ok) return;
    await this.relay(id, '', () => this.t().rename(resolved[0]!.shown, resolved[1]!.shown).then(() => this.status(id, STATUS.OK)));
  }

  private async symlink(id: number, link: string, target: string): Promise<void> {
    // The link's target is resolved as the kernel will: relative to the directory the link is in.
    const linkAbs = lexicalPath(this.side!.home, link);
    const targetAbs = target.startsWith('/') ? target : lexicalPath(linkAbs.replace(/\/[^/]*$/, '') || '/', target);
    const { gate, resolved } = await this.gate(id, [linkAbs, targetAbs], ([l, t]) => symlinkOperation('sftp', l!, t!));
    if (!gate.ok) return;
    // The link is created with the target text the client sent (a relative link stays relative).
    await this.relay(id, '', () => this.t().symlink(target, resolved[0]!.shown).then(() => this.status(id, STATUS.OK)));
  }
}

/** The attributes a request carries, as ssh2's client sends them on (only the fields present). */
function inputAttrs(a: Attributes): InputAttributes {
  const out: InputAttributes = {};
  if (typeof a.mode === 'number') out.mode = a.mode;
  if (typeof a.uid === 'number' && typeof a.gid === 'number') {
    out.uid = a.uid;
    out.gid = a.gid;
  }
  if (typeof a.size === 'number') out.size = a.size;
  if (typeof a.atime === 'number' && typeof a.mtime === 'number') {
    out.atime = a.atime;
    out.mtime = a.mtime;
  }
  return out;
}
