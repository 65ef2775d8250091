/**
 * The target's SFTP session, framed by Vigil (sftp-wire.ts) on a raw `subsystem` channel from ssh2's Client,
 * with the same promise API as sftp-target.ts's TargetSftp. Request ids are Vigil's own (a counter), so
 * nothing a client sends reaches the target's id space. A READ's answer is a view of the target's DATA packet
 * (no copy); one longer than asked, or any answer the framing cannot read, fails the session: every waiting
 * request is rejected and `onError` runs once.
 */
import type { Duplex } from 'node:stream';
import type { Attributes, FileEntry, InputAttributes } from 'ssh2';
import { encodeAttrs, Fields, FXP, initPacket, MAX_HANDLE, MAX_PACKET, PacketFramer, SftpWireError, Writer } from './sftp-wire.ts';
import { STATUS, type SftpTarget } from './sftp-target.ts';

type Expect = 'status' | 'handle' | 'data' | 'name' | 'attrs';
interface Waiting {
  expect: Expect;
  max?: number;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** A target's packets may be a little longer than OpenSSH's limit (a DATA of 256 KiB plus its header). */
const TARGET_MAX_PACKET = MAX_PACKET + 1024;

export class FrameTarget implements SftpTarget {
  private readonly framer = new PacketFramer(TARGET_MAX_PACKET);
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private failure: Error | undefined;
  private versioned: { resolve(): void; reject(e: unknown): void } | undefined;
  /** Resolves once the target answered INIT with VERSION 3. */
  readonly ready: Promise<void>;

  /** `openssh`: the target is OpenSSH, whose SYMLINK takes its two paths in the other order. */
  constructor(
    private readonly channel: Duplex,
    private readonly openssh: boolean,
    private readonly onError: (reason: string) => void = () => undefined,
  ) {
    this.ready = new Promise((resolve, reject) => (this.versioned = { resolve, reject }));
    this.ready.catch(() => undefined);
    channel.on('data', (chunk: Buffer) => this.feed(chunk));
    channel.on('close', () => this.fail(new Error('the target closed its sftp subsystem')));
    channel.write(initPacket());
  }

  private feed(chunk: Buffer): void {
    if (this.failure) return;
    try {
      for (const parts of this.framer.pushParts(chunk)) {
        // A DATA answer keeps its pieces (the download stream joins them once, to scan them); others are joined.
        if (parts.length > 1 && parts[0]![4] === FXP.DATA && this.dataAnswer(parts)) continue;
        this.answer(new Fields(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
      }
    } catch (e) {
      this.fail(e instanceof SftpWireError ? new Error(`target sftp protocol error: ${e.message}`) : (e as Error));
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.versioned?.reject(e);
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(e);
    this.onError(e.message);
  }

  private answer(f: Fields): void {
    if (this.versioned) {
      if (f.type !== FXP.VERSION) throw new SftpWireError('sftp-protocol', `the target answered INIT with packet type ${f.type}`);
      const v = f.u32('version');
      if (v !== 3) throw new SftpWireError('sftp-protocol', `the target speaks SFTP version ${v}, not 3`);
      // Its extensions are not used: Vigil only sends version-3 requests.
      const done = this.versioned;
      this.versioned = undefined;
      done.resolve();
      return;
    }
    const id = f.u32('request id');
    const w = this.waiting.get(id);
    if (!w) throw new SftpWireError('sftp-protocol', `an answer to request ${id}, which Vigil did not send`);
    this.waiting.delete(id);
    if (f.type === FXP.STATUS) {
      const code = f.u32('status code');
      const message = f.remaining >= 4 ? f.text('status message') : '';
      if (code === STATUS.OK && w.expect === 'status') return w.resolve(undefined);
      return w.reject(Object.assign(new Error(message || `SFTP status ${code}`), { code }));
    }
    const expected = { handle: FXP.HANDLE, data: FXP.DATA, name: FXP.NAME, attrs: FXP.ATTRS, status: FXP.STATUS }[w.expect];
    if (f.type !== expected) throw new SftpWireError('sftp-protocol', `the target answered a request with packet type ${f.type}`);
    if (w.expect === 'handle') return w.resolve(Buffer.from(f.bytes('handle', MAX_HANDLE)));
    if (w.expect === 'attrs') return w.resolve(f.attrs());
    if (w.expect === 'data') {
      const d = f.bytes('data');
      if (d.length > w.max!) throw new SftpWireError('sftp-protocol', `the target answered a READ of ${w.max} bytes with ${d.length}`);
      return w.resolve(d);
    }
    const list: FileEntry[] = [];
    for (let n = f.u32('name count'); n > 0; n--) list.push({ filename: f.text('filename'), longname: f.text('longname'), attrs: f.attrs() });
    w.resolve(list);
  }

  /** A DATA answer in pieces (the first holds its 13-byte header): resolved with views of them. */
  private dataAnswer(parts: Buffer[]): boolean {
    const head = parts[0]!;
    if (head.length < 13) return false;
    const total = parts.reduce((n, p) => n + p.length, 0);
    const id = head.readUInt32BE(5);
    const n = head.readUInt32BE(9);
    if (13 + n !== total) throw new SftpWireError('sftp-malformed', 'a DATA answer whose data length is not its packet length');
    const w = this.waiting.get(id);
    if (!w || w.expect !== 'data') return false;
    if (n > w.max!) throw new SftpWireError('sftp-protocol', `the target answered a READ of ${w.max} bytes with ${n}`);
    this.waiting.delete(id);
    const out = head.length > 13 ? [head.subarray(13), ...parts.slice(1)] : parts.slice(1);
    w.resolve(out.filter((p) => p.length > 0));
    return true;
  }

  /** Sends one request: `size` is the body after the request id; `fill` writes it. */
  private send<T>(type: number, size: number, expect: Expect, fill: (w: Writer) => void, max?: number): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0;
    const w = new Writer(type, 4 + size).u32(id);
    fill(w);
    const packet = w.done();
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { expect, resolve: resolve as (v: unknown) => void, reject, ...(max !== undefined ? { max } : {}) });
      this.channel.write(packet);
    });
  }

  private path<T>(type: number, expect: Expect, p: string): Promise<T> {
    const b = Buffer.from(p, 'utf8');
    return this.send(type, 4 + b.length, expect, (w) => w.bytes(b));
  }

  private onHandle<T>(type: number, expect: Expect, h: Buffer): Promise<T> {
    return this.send(type, 4 + h.length, expect, (w) => w.bytes(h));
  }

  open(path: string, flags: number, attrs: InputAttributes): Promise<Buffer> {
    const b = Buffer.from(path, 'utf8');
    const a = encodeAttrs(attrs);
    return this.send(FXP.OPEN, 4 + b.length + 4 + a.length, 'handle', (w) => w.bytes(b).u32(flags).raw(a));
  }
  close(h: Buffer): Promise<void> {
    return this.onHandle(FXP.CLOSE, 'status', h);
  }
  /** Up to `len` bytes at `pos`; an empty buffer at the end of the file. */
  async read(h: Buffer, pos: number, len: number): Promise<Buffer> {
    const parts = await this.readParts(h, pos, len);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
  /** `read`, as views of the pieces the answer arrived in (none at the end of the file). */
  readParts(h: Buffer, pos: number, len: number): Promise<Buffer[]> {
    return this.send<Buffer | Buffer[]>(FXP.READ, 4 + h.length + 12, 'data', (w) => w.bytes(h).u64(pos).u32(len), len).then(
      (d) => (Buffer.isBuffer(d) ? (d.length ? [d] : []) : d),
      (e: { code?: number }) => {
        if (e.code === STATUS.EOF) return [];
        throw e;
      },
    );
  }
  write(h: Buffer, pos: number, data: Buffer): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    return this.send(FXP.WRITE, 4 + h.length + 8 + 4 + data.length, 'status', (w) => w.bytes(h).u64(pos).bytes(data));
  }
  fstat(h: Buffer): Promise<Attributes> {
    return this.onHandle(FXP.FSTAT, 'attrs', h);
  }
  fsetstat(h: Buffer, attrs: InputAttributes): Promise<void> {
    const a = encodeAttrs(attrs);
    return this.send(FXP.FSETSTAT, 4 + h.length + a.length, 'status', (w) => w.bytes(h).raw(a));
  }
  stat(path: string): Promise<Attributes> {
    return this.path(FXP.STAT, 'attrs', path);
  }
  lstat(path: string): Promise<Attributes> {
    return this.path(FXP.LSTAT, 'attrs', path);
  }
  setstat(path: string, attrs: InputAttributes): Promise<void> {
    return this.pathAttrs(FXP.SETSTAT, path, attrs);
  }
  opendir(path: string): Promise<Buffer> {
    return this.path(FXP.OPENDIR, 'handle', path);
  }
  /** One READDIR: the entries, or null at the end of the directory. */
  readdir(h: Buffer): Promise<FileEntry[] | null> {
    return this.onHandle<FileEntry[]>(FXP.READDIR, 'name', h).catch((e: { code?: number }) => {
      if (e.code === STATUS.EOF) return null;
      throw e;
    });
  }
  remove(path: string): Promise<void> {
    return this.path(FXP.REMOVE, 'status', path);
  }
  rmdir(path: string): Promise<void> {
    return this.path(FXP.RMDIR, 'status', path);
  }
  mkdir(path: string, attrs: InputAttributes): Promise<void> {
    return this.pathAttrs(FXP.MKDIR, path, attrs);
  }
  private pathAttrs(type: number, path: string, attrs: InputAttributes): Promise<void> {
    const b = Buffer.from(path, 'utf8');
    const a = encodeAttrs(attrs);
    return this.send(type, 4 + b.length + a.length, 'status', (w) => w.bytes(b).raw(a));
  }
  rename(from: string, to: string): Promise<void> {
    const a = Buffer.from(from, 'utf8');
    const b = Buffer.from(to, 'utf8');
    return this.send(FXP.RENAME, 8 + a.length + b.length, 'status', (w) => w.bytes(a).bytes(b));
  }
  realpath(path: string): Promise<string> {
    return this.oneName(FXP.REALPATH, 'REALPATH', path);
  }
  readlink(path: string): Promise<string> {
    return this.oneName(FXP.READLINK, 'READLINK', path);
  }
  private async oneName(type: number, what: string, path: string): Promise<string> {
    const list = await this.path<FileEntry[]>(type, 'name', path);
    if (list.length !== 1) throw new Error(`the target answered ${what} with ${list.length} names`);
    return list[0]!.filename;
  }
  /** `target` is what the link points to, `link` the new link's path. */
  symlink(target: string, link: string): Promise<void> {
    const t = Buffer.from(target, 'utf8');
    const l = Buffer.from(link, 'utf8');
    // draft-02 order is (linkpath, targetpath); OpenSSH's server takes (targetpath, linkpath).
    const [first, second] = this.openssh ? [t, l] : [l, t];
    return this.send(FXP.SYMLINK, 8 + t.length + l.length, 'status', (w) => w.bytes(first).bytes(second));
  }

  /** Ends the channel (requests still waiting are rejected when it closes). */
  end(): void {
    try {
      this.channel.end();
    } catch {
      /* already closed */
    }
  }
}
