/**
 * The bare-relay baseline for scripts/bench/ssh: an ssh2 Server that accepts any key and pipes each `exec`
 * to the target through an ssh2 Client — the same two SSH stacks Vigil runs, with no policy, masking or
 * recording. What it costs is what any gateway that terminates SSH in Node pays; Vigil's ratio to it is
 * Vigil's own work. Run by the benchmark as a child process:
 *   node bin/run-ts.mjs scripts/bench/ssh-bare-relay.ts HOST_KEY TARGET_PORT TARGET_USER TARGET_KEY
 * prints `LISTEN <port>` once listening.
 */
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';

const [hostKey, targetPort, targetUser, targetKey] = process.argv.slice(2);
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
