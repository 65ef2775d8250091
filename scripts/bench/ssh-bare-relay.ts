/**
 * The bare-relay baseline for scripts/bench/ssh: an ssh2 Server that accepts any key and pipes each `exec`
 * to the target through an ssh2 Client — the same two SSH stacks Vigil runs, with no policy, masking or
 * recording — and relays the `sftp` subsystem request by request through ssh2's two SFTP ends (what an
 * `scp` download uses: REALPATH, STAT, FSTAT, OPEN, READ, CLOSE, OPENDIR, READDIR), each READ passed on as
 * it comes, no read-ahead, no scan. What it costs is what any gateway that terminates SSH in Node pays; Vigil's ratio to it is
 * Vigil's own work. With a fifth argument `pipe`, the `sftp` subsystem is instead piped as raw bytes between
 * the two subsystem channels (no SFTP parsing at all): the ceiling of any SFTP relay on ssh2's SSH stacks,
 * which Vigil's own framing (sftp-frame-*.ts) approaches. Run by the benchmark as a child process:
 *   node bin/run-ts.mjs scripts/bench/ssh-bare-relay.ts HOST_KEY TARGET_PORT TARGET_USER TARGET_KEY [pipe]
 * prints `LISTEN <port>` once listening.
 */
import { readFileSync } from 'node:fs';
import ssh2, { type SFTPWrapper } from 'ssh2';

type Sftp = SFTPWrapper;
/** ssh2's SFTP server stream for the client, relayed to the target's SFTP session (opened later). */
function relaySftp(s: Sftp, target: Promise<Sftp>): void {
  const fail = (id: number, e: Error & { code?: number }) => s.status(id, typeof e.code === 'number' ? e.code : 4, e.message);
  const on = (ev: string, run: (t: Sftp, id: number, ...a: never[]) => void) => s.on(ev, (id: number, ...a: never[]) => void target.then((t) => run(t, id, ...a)));
  on('REALPATH', (t, id, p: string) => t.realpath(p, (e, r) => (e ? fail(id, e) : s.name(id, [{ filename: r, longname: r, attrs: {} as ssh2.Attributes }]))));
  on('STAT', (t, id, p: string) => t.stat(p, (e, a) => (e ? fail(id, e) : s.attrs(id, a))));
  on('LSTAT', (t, id, p: string) => t.lstat(p, (e, a) => (e ? fail(id, e) : s.attrs(id, a))));
  on('FSTAT', (t, id, h: Buffer) => t.fstat(h, (e, a) => (e ? fail(id, e) : s.attrs(id, a))));
  on('OPEN', (t, id, p: string, flags: number) => t.open(p, flags, (e, h) => (e ? fail(id, e) : s.handle(id, h))));
  on('OPENDIR', (t, id, p: string) => t.opendir(p, (e, h) => (e ? fail(id, e) : s.handle(id, h))));
  on('READDIR', (t, id, h: Buffer) => t.readdir(h, (e, list) => (e ? fail(id, e) : s.name(id, list))));
  on('CLOSE', (t, id, h: Buffer) => t.close(h, (e) => (e ? fail(id, e) : s.status(id, 0))));
  on('READ', (t, id, h: Buffer, off: number, len: number) => {
    const buf = Buffer.allocUnsafe(len);
    t.read(h, buf, 0, len, off, (e, n) => (e ? fail(id, e) : n === 0 ? s.status(id, 1) : s.data(id, buf.subarray(0, n))));
  });
}

const [hostKey, targetPort, targetUser, targetKey, sftpMode] = process.argv.slice(2);
const server = new ssh2.Server({ hostKeys: [readFileSync(hostKey!)] }, (conn) => {
  conn.on('error', () => undefined);
  conn.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
  conn.on('ready', () => {
    const up = new ssh2.Client();
    up.on('error', () => conn.end());
    const ready = new Promise<void>((resolve) => up.once('ready', () => resolve()));
    up.connect({ host: '127.0.0.1', port: Number(targetPort), username: targetUser!, privateKey: readFileSync(targetKey!), hostVerifier: () => true });
    conn.on('session', (accept) => {
      const session = accept();
      if (sftpMode === 'pipe') {
        session.on('subsystem', (acceptSub, reject, info) => {
          if (info.name !== 'sftp') return reject();
          const s = acceptSub();
          void ready.then(() =>
            up.subsys('sftp', (err, t) => {
              if (err) return s.exit(1), s.end();
              s.pipe(t);
              t.pipe(s);
              t.on('exit', (code: number | null) => s.exit(code ?? 0));
              t.on('close', () => s.end());
            }),
          );
        });
      } else session.on('sftp', (acceptSftp) => {
        const s = acceptSftp();
        const target = ready.then(() => new Promise<Sftp>((resolve, reject) => up.sftp((err, t) => (err ? reject(err) : resolve(t)))));
        relaySftp(s, target);
        // As sshd does when its sftp-server ends (and Vigil, sftp-channel.ts): an exit status, then the close;
        // scp (SFTP mode) waits for them after it has sent its EOF.
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          try {
            const c = s as unknown as { _protocol: { exitStatus(id: number, status: number): void }; outgoing: { id: number; state: string } };
            if (c.outgoing.state === 'open') c._protocol.exitStatus(c.outgoing.id, 0);
          } catch {
            /* already closed */
          }
          s.end();
          void target.then((t) => t.end(), () => undefined);
        };
        s.on('end', finish);
        s.on('close', finish);
      });
      session.on('exec', (acceptExec, _reject, info) => {
        const stream = acceptExec();
        void ready.then(() =>
          up.exec(info.command, (err, ch) => {
            if (err) return stream.exit(1), stream.end();
            ch.pipe(stream);
            ch.stderr.pipe(stream.stderr);
            stream.pipe(ch);
            ch.on('exit', (code: number | null) => stream.exit(code ?? 1));
            ch.on('close', () => stream.end());
          }),
        );
      });
    });
    conn.on('close', () => up.end());
  });
});
server.listen(0, '127.0.0.1', () => console.log(`LISTEN ${(server.address() as { port: number }).port}`));
