// An ssh2 SFTP client through the gateway that sends exactly the requests a test chooses (offsets, lengths,
// order, many in flight at once) — what an attacker controls and OpenSSH's clients never vary.
import { readFileSync } from 'node:fs';
import ssh2, { type SFTPWrapper } from 'ssh2';

export interface RawSftp {
  sftp: SFTPWrapper;
  open(path: string, flags: ssh2.OpenMode): Promise<Buffer>;
  /** One READ: the bytes, or the SFTP status code the gateway refused it with. */
  read(h: Buffer, off: number, len: number): Promise<{ data: Buffer } | { code: number; message: string }>;
  close(h: Buffer): Promise<void>;
  stat(path: string): Promise<ssh2.Stats>;
  remove(path: string): Promise<void>;
  end(): void;
}

type Cb<T> = (err: Error | null | undefined, v: T) => void;
const p = <T>(run: (cb: Cb<T>) => void) => new Promise<T>((resolve, reject) => run((e, v) => (e ? reject(e) : resolve(v))));

export async function rawSftp(port: number, key: string, user = 'web'): Promise<RawSftp> {
  const c = new ssh2.Client();
  c.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port, username: user, privateKey: readFileSync(key), readyTimeout: 30_000 });
  });
  const sftp = await p<SFTPWrapper>((cb) => c.sftp(cb));
  return {
    sftp,
    open: (path, flags) => p((cb) => sftp.open(path, flags, cb as never)),
    read: (h, off, len) =>
      new Promise((resolve) => {
        const buf = Buffer.alloc(len);
        sftp.read(h, buf, 0, len, off, (err, n) => {
          if (err) resolve({ code: (err as Error & { code: number }).code, message: err.message });
          else resolve({ data: buf.subarray(0, n) });
        });
      }),
    close: (h) => p((cb) => sftp.close(h, cb as never)),
    stat: (path) => p((cb) => sftp.stat(path, cb as never)),
    remove: (path) => p((cb) => sftp.unlink(path, cb as never)),
    end: () => c.end(),
  };
}
