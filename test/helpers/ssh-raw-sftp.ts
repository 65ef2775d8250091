// The bytes of an SFTP session, chosen by a test: a real SSH connection (ssh2's Client) to the gateway whose
// `sftp` subsystem channel is written to and read as raw bytes, so a test can send what no SFTP library
// would (lengths that lie, ids reused, extensions, garbage) and see each answer packet as the gateway sent it.
// Its own small parser, independent of the gateway's (appliance/protocols/ssh/sftp-wire.ts).
import { readFileSync } from 'node:fs';
import ssh2, { type ClientChannel } from 'ssh2';

export const T = { INIT: 1, VERSION: 2, OPEN: 3, CLOSE: 4, READ: 5, WRITE: 6, STAT: 17, REMOVE: 13, RENAME: 18, STATUS: 101, HANDLE: 102, DATA: 103, NAME: 104, ATTRS: 105, EXTENDED: 200, EXTENDED_REPLY: 201 } as const;

export interface Answer {
  type: number;
  /** The request id (undefined for VERSION). */
  id?: number;
  /** The bytes after the id (after the type for VERSION). */
  body: Buffer;
}

/** A field of a packet: a Buffer is written as is, a string as an SFTP string, a number as a uint32, `{ u64 }` as a uint64. */
export type Field = Buffer | string | number | { u64: bigint | number } | { str: Buffer };

export function fields(...fs: Field[]): Buffer {
  return Buffer.concat(
    fs.map((f) => {
      if (Buffer.isBuffer(f)) return f;
      if (typeof f === 'number') return u32(f);
      if (typeof f === 'string') return str(Buffer.from(f));
      if ('str' in f) return str(f.str);
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(f.u64));
      return b;
    }),
  );
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const str = (b: Buffer) => Buffer.concat([u32(b.length), b]);

/** A whole packet: length, type, then the fields (the request id is the first field, where there is one). */
export function packet(type: number, ...fs: Field[]): Buffer {
  const body = fields(...fs);
  return Buffer.concat([u32(1 + body.length), Buffer.from([type]), body]);
}

/** A STATUS answer's code and message. */
export function statusOf(a: Answer): { code: number; message: string } {
  const code = a.body.readUInt32BE(0);
  const n = a.body.readUInt32BE(4);
  return { code, message: a.body.subarray(8, 8 + n).toString('utf8') };
}

export interface RawSftpChannel {
  send(b: Buffer): void;
  /** The next answer with this id (or of this type, for VERSION), waiting up to `ms`. */
  answer(id: number, ms?: number): Promise<Answer>;
  /** Every answer received so far. */
  answers: Answer[];
  /** Resolves when the gateway closed the channel. */
  closed: Promise<void>;
  isClosed(): boolean;
  end(): void;
}

export interface RawSftpConnection {
  /** Opens an sftp subsystem channel; `init` sends INIT (version 3) first and waits for VERSION. */
  channel(init?: boolean): Promise<RawSftpChannel & { version?: Answer }>;
  end(): void;
}

export async function rawSftpConnection(port: number, key: string, user = 'web'): Promise<RawSftpConnection> {
  const c = new ssh2.Client();
  c.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port, username: user, privateKey: readFileSync(key), readyTimeout: 30_000 });
  });
  return {
    end: () => c.end(),
    async channel(init = true) {
      const ch = await new Promise<ClientChannel>((resolve, reject) => c.subsys('sftp', (err, s) => (err ? reject(err) : resolve(s))));
      const answers: Answer[] = [];
      const waiters: { id: number; resolve(a: Answer): void }[] = [];
      let buf = Buffer.alloc(0);
      let isClosed = false;
      const closed = new Promise<void>((resolve) => ch.on('close', () => ((isClosed = true), resolve())));
      ch.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          const p = buf.subarray(4, 4 + buf.readUInt32BE(0));
          buf = buf.subarray(4 + p.length);
          const type = p[0]!;
          const a: Answer = type === T.VERSION ? { type, body: p.subarray(1) } : { type, id: p.readUInt32BE(1), body: p.subarray(5) };
          answers.push(a);
          const key = a.id ?? -type;
          const i = waiters.findIndex((w) => w.id === key);
          if (i >= 0) waiters.splice(i, 1)[0]!.resolve(a);
        }
      });
      const taken = new Set<Answer>();
      const answer = (id: number, ms = 20_000) =>
        new Promise<Answer>((resolve, reject) => {
          const have = answers.find((a) => (a.id ?? -a.type) === id && !taken.has(a));
          const done = (a: Answer) => (taken.add(a), resolve(a));
          if (have) return done(have);
          const t = setTimeout(() => reject(new Error(`no answer to request ${id} within ${ms} ms (channel ${isClosed ? 'closed' : 'open'})`)), ms);
          waiters.push({ id, resolve: (a) => (clearTimeout(t), done(a)) });
        });
      const self: RawSftpChannel & { version?: Answer } = { send: (b) => ch.write(b), answer, answers, closed, isClosed: () => isClosed, end: () => ch.end() };
      if (init) {
        ch.write(packet(T.INIT, 3));
        self.version = await answer(-T.VERSION);
      }
      return self;
    },
  };
}
