/**
 * The target's SFTP session (ssh2's Client `sftp()`), as promises. Errors keep the SFTP status code the
 * target sent (`code`), so the proxy can pass it on to the client unchanged.
 */
import type { Attributes, FileEntry, InputAttributes, SFTPWrapper } from 'ssh2';

export interface TargetStatus {
  code: number;
  message: string;
}

export const STATUS = { OK: 0, EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, BAD_MESSAGE: 5, OP_UNSUPPORTED: 8 } as const;

/** An SFTP status from the target (or a transport failure, as FAILURE). */
export function statusOf(e: unknown): TargetStatus {
  const code = typeof (e as { code?: unknown })?.code === 'number' ? (e as { code: number }).code : STATUS.FAILURE;
  const message = e instanceof Error ? e.message : String(e);
  return { code, message };
}

type Cb<T> = (err: Error | null | undefined, v: T) => void;
function p<T>(run: (cb: Cb<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => run((err, v) => (err ? reject(err) : resolve(v))));
}

/** The target's SFTP session as the proxy uses it: ssh2's (TargetSftp) or Vigil's own framing (sftp-frame-target.ts). */
export interface SftpTarget {
  open(path: string, flags: number, attrs: InputAttributes): Promise<Buffer>;
  close(h: Buffer): Promise<void>;
  read(h: Buffer, pos: number, len: number): Promise<Buffer>;
  /** The same as `read`, as the pieces the answer arrived in (no join). */
  readParts?(h: Buffer, pos: number, len: number): Promise<Buffer[]>;
  write(h: Buffer, pos: number, data: Buffer): Promise<void>;
  fstat(h: Buffer): Promise<Attributes>;
  fsetstat(h: Buffer, a: InputAttributes): Promise<void>;
  stat(path: string): Promise<Attributes>;
  lstat(path: string): Promise<Attributes>;
  setstat(path: string, a: InputAttributes): Promise<void>;
  opendir(path: string): Promise<Buffer>;
  readdir(h: Buffer): Promise<FileEntry[] | null>;
  remove(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  mkdir(path: string, a: InputAttributes): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  realpath(path: string): Promise<string>;
  readlink(path: string): Promise<string>;
  symlink(target: string, link: string): Promise<void>;
}

export class TargetSftp implements SftpTarget {
  constructor(readonly raw: SFTPWrapper) {}
  open(path: string, flags: number, attrs: InputAttributes): Promise<Buffer> {
    return p((cb) => this.raw.open(path, flags, attrs, cb as never));
  }
  close(h: Buffer): Promise<void> {
    return p((cb) => this.raw.close(h, cb as never));
  }
  /** Up to `len` bytes at `pos`; an empty buffer at the end of the file. */
  read(h: Buffer, pos: number, len: number): Promise<Buffer> {
    // Not zero-filled: only the n bytes the target wrote into it are ever used.
    const buf = Buffer.allocUnsafe(len);
    return new Promise((resolve, reject) =>
      this.raw.read(h, buf, 0, len, pos, (err, n) => (err ? reject(err) : resolve(buf.subarray(0, n)))),
    );
  }
  write(h: Buffer, pos: number, data: Buffer): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    return p((cb) => this.raw.write(h, data, 0, data.length, pos, cb as never));
  }
  fstat(h: Buffer): Promise<Attributes> {
    return p((cb) => this.raw.fstat(h, cb as never));
  }
  fsetstat(h: Buffer, a: InputAttributes): Promise<void> {
    return p((cb) => this.raw.fsetstat(h, a, cb as never));
  }
  stat(path: string): Promise<Attributes> {
    return p((cb) => this.raw.stat(path, cb as never));
  }
  lstat(path: string): Promise<Attributes> {
    return p((cb) => this.raw.lstat(path, cb as never));
  }
  setstat(path: string, a: InputAttributes): Promise<void> {
    return p((cb) => this.raw.setstat(path, a, cb as never));
  }
  opendir(path: string): Promise<Buffer> {
    return p((cb) => this.raw.opendir(path, cb as never));
  }
  /** One READDIR: the entries, or null at the end of the directory. */
  readdir(h: Buffer): Promise<FileEntry[] | null> {
    // `full`: '.' and '..' are passed on as the target lists them.
    const readdir = this.raw.readdir as unknown as (h: Buffer, o: object, cb: (err: (Error & { code?: number }) | undefined, list: FileEntry[]) => void) => void;
    return new Promise((resolve, reject) => {
      readdir.call(this.raw, h, { full: true }, (err, list) => {
        if (err && err.code === STATUS.EOF) return resolve(null);
        if (err) return reject(err);
        resolve(list);
      });
    });
  }
  remove(path: string): Promise<void> {
    return p((cb) => this.raw.unlink(path, cb as never));
  }
  rmdir(path: string): Promise<void> {
    return p((cb) => this.raw.rmdir(path, cb as never));
  }
  mkdir(path: string, a: InputAttributes): Promise<void> {
    return p((cb) => this.raw.mkdir(path, a, cb as never));
  }
  rename(from: string, to: string): Promise<void> {
    return p((cb) => this.raw.rename(from, to, cb as never));
  }
  realpath(path: string): Promise<string> {
    return p((cb) => this.raw.realpath(path, cb as never));
  }
  readlink(path: string): Promise<string> {
    return p((cb) => this.raw.readlink(path, cb as never));
  }
  /** `target` is what the link points to, `link` the new link's path (ssh2 swaps them for OpenSSH). */
  symlink(target: string, link: string): Promise<void> {
    return p((cb) => this.raw.symlink(target, link, cb as never));
  }
}
