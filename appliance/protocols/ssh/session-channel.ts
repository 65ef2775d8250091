/**
 * One `session` channel of a client connection and the requests on it (RFC 4254 §6): at most one of `exec`,
 * `shell` or `subsystem` (sftp) runs the channel; `pty-req`, `env`, `window-change` and `signal` shape it;
 * agent and X11 forwarding are refused with a message. Each kind of run has its own module: exec-channel.ts,
 * shell-channel.ts, sftp-channel.ts.
 */
import type { ServerChannel, Session } from 'ssh2';
import type { CertificatePermits } from './certificate-policy.ts';
import { ChannelBook, runExec, type ExecContext } from './exec-channel.ts';
import { runSftp } from './sftp-channel.ts';

type Accept = () => ServerChannel;

export const NOT_YET = 'is not supported by this Vigil version; see docs/ssh-gateway.md';

export interface SessionChannelContext extends ExecContext {
  book: ChannelBook;
  /** Records a refused request as a notice (what the client asked for and the message it got). */
  refused(request: string, message?: string): void;
  /** The session ends because a channel handler failed unexpectedly. */
  failed(e: unknown): void;
  /** What the client's certificate permits (permit-pty, …); all true for a plain key or a token. */
  permits: CertificatePermits;
}

/** Handles the requests of one session channel until it runs something (and, for a shell, while it runs). */
export function handleSessionChannel(ctx: SessionChannelContext, s: Session): void {
  let used = false;
  // What was refused on this channel before its command, told on the command's stderr (OpenSSH shows
  // nothing for a refused agent or X11 request).
  const notes: string[] = [];
  const once = (request: string, run: () => void) => {
    if (used) return ctx.refused(`a second ${request} on one session channel`);
    used = true;
    run();
  };
  const fail = (p: Promise<void>) => void p.catch((e) => ctx.failed(e));
  s.on('exec', (accept, _reject, info) => once('exec', () => fail(runExec(ctx, ctx.book, accept, info.command, notes))));
  const unsupported = (request: string) => (accept: Accept) =>
    once(request, () => {
      ctx.refused(request, `${request} ${NOT_YET}`);
      const ch = accept();
      for (const n of notes) ch.stderr.write(n);
      ch.stderr.write(`vigil: ${request} ${NOT_YET}\n`);
      ch.exit(1);
      ch.end();
    });
  // Under a certificate's force-command, a shell runs the forced command (as sshd does) and a subsystem is refused.
  const forced = (request: string) => (accept: Accept, reject?: () => void) =>
    once(request, () => {
      if (request === 'an interactive shell') return fail(runExec(ctx, ctx.book, accept, '', notes, request));
      ctx.refused(request, `${request} is refused: the certificate forces a command`);
      reject?.();
    });
  s.on('shell', ctx.forceCommand !== undefined ? forced('an interactive shell') : unsupported('an interactive shell'));
  s.on('sftp', (accept, reject) => (ctx.forceCommand !== undefined ? forced('the sftp subsystem')(accept as never, reject) : once('sftp', () => fail(runSftp(ctx, accept, reject, notes)))));
  s.on('subsystem', (accept, reject, info) => (ctx.forceCommand !== undefined ? forced(`the ${info.name} subsystem`)(accept, reject) : unsupported(`the ${info.name} subsystem`)(accept)));
  for (const ev of ['pty', 'x11', 'auth-agent', 'env', 'signal'] as const) {
    s.on(ev, (_a: unknown, reject?: () => void) => {
      const what = ev === 'pty' ? 'a terminal (pty-req)' : ev === 'auth-agent' ? 'agent forwarding' : ev === 'x11' ? 'X11 forwarding' : 'a signal';
      const notPermitted = (ev === 'pty' && !ctx.permits.pty) || (ev === 'auth-agent' && !ctx.permits.agentForwarding) || (ev === 'x11' && !ctx.permits.x11Forwarding);
      if (notPermitted) ctx.refused(what, `${what} is not permitted by the client certificate`);
      else if (ev !== 'env') ctx.refused(what, `${what} ${NOT_YET}`);
      if (ev !== 'env' && ev !== 'signal') notes.push(`vigil: ${what} is refused by this Vigil version; the command runs without it\n`);
      reject?.();
    });
  }
}
