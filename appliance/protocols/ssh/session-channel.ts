/**
 * One `session` channel of a client connection and the requests on it (RFC 4254 §6): at most one of `exec`,
 * `shell` or `subsystem` (sftp) runs the channel; `pty-req` (if the certificate permits it) and `env` (the
 * names policy allows, `ssh.env`) shape it before, `window-change` and `signal` are forwarded while it runs;
 * agent and X11 forwarding are refused with a message. Each kind of run has its own module: exec-channel.ts,
 * shell-channel.ts, sftp-channel.ts.
 */
import type { ServerChannel, Session } from 'ssh2';
import type { CertificatePermits } from './certificate-policy.ts';
import { ChannelBook, runExec, type ExecContext } from './exec-channel.ts';
import { sshPolicyOf } from './policy-config.ts';
import { ChannelSetup, clamp, envAllowed, ptyOf } from './pty-requests.ts';
import { runSftp, sftpFraming } from './sftp-channel.ts';
import { runShell } from './shell-channel.ts';

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
  const setup = new ChannelSetup();
  // What was refused on this channel before its command, told on the command's stderr (OpenSSH shows
  // nothing for a refused agent or X11 request).
  const notes: string[] = [];
  const once = (request: string, run: () => void) => {
    if (used) return ctx.refused(`a second ${request} on one session channel`);
    used = true;
    run();
  };
  const fail = (p: Promise<void>) => void p.catch((e) => ctx.failed(e));
  s.on('exec', (accept, _reject, info) => once('exec', () => fail(runExec(ctx, ctx.book, accept, info.command, notes, info.command, setup))));
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
      if (request === 'an interactive shell') return fail(runExec(ctx, ctx.book, accept, '', notes, request, setup));
      ctx.refused(request, `${request} is refused: the certificate forces a command`);
      reject?.();
    });
  s.on('shell', ctx.forceCommand !== undefined ? forced('an interactive shell') : (accept) => once('shell', () => fail(runShell(ctx, ctx.book, accept, setup, notes))));
  // With Vigil's own SFTP framing (the default) no 'sftp' listener is registered, so ssh2 hands over the raw
  // subsystem channel instead of its SFTP server object.
  const ssh2Sftp = sftpFraming() === 'ssh2';
  if (ssh2Sftp) s.on('sftp', (accept, reject) => (ctx.forceCommand !== undefined ? forced('the sftp subsystem')(accept as never, reject) : once('sftp', () => fail(runSftp(ctx, accept, notes)))));
  s.on('subsystem', (accept, reject, info) => {
    if (ctx.forceCommand !== undefined) return forced(`the ${info.name} subsystem`)(accept, reject);
    if (info.name === 'sftp' && !ssh2Sftp) return once('sftp', () => fail(runSftp(ctx, accept, notes)));
    unsupported(`the ${info.name} subsystem`)(accept);
  });
  s.on('pty', (accept, reject, info) => {
    const what = 'a terminal (pty-req)';
    if (!ctx.permits.pty) {
      ctx.refused(what, `${what} is not permitted by the client certificate`);
      notes.push(`vigil: ${what} is refused; the command runs without it\n`);
      return reject?.();
    }
    if (used) {
      ctx.refused(what, `${what} after the channel started running is refused`);
      return reject?.();
    }
    setup.pty = ptyOf(info);
    accept?.();
  });
  s.on('env', (accept, reject, info) => {
    const name = String(info.key);
    if (!used && envAllowed(name, sshPolicyOf(ctx.session.policy?.config).env)) {
      setup.env[name] = String(info.val);
      return accept?.();
    }
    // Recorded by name only: a value may be a secret.
    const shown = ctx.session.masks.evidence(name.slice(0, 128));
    ctx.refused(`the environment variable ${shown}`, used ? 'environment variables are only taken before the channel runs' : `the environment variable ${shown} is not allowed by policy (ssh.env)`);
    reject?.();
  });
  s.on('window-change', (accept, _reject, info) => {
    const [cols, rows, width, height] = [clamp(info.cols), clamp(info.rows), clamp(info.width, 65535), clamp(info.height, 65535)];
    if (setup.resize) setup.resize(cols, rows, width, height);
    else if (setup.pty) Object.assign(setup.pty, { cols, rows, width, height });
    accept?.();
  });
  s.on('signal', (accept, reject, info) => {
    const name = String(info.name).replace(/^SIG/, '');
    if (setup.signal && /^[A-Z0-9]{1,16}$/.test(name)) {
      setup.signal(name);
      return accept?.();
    }
    ctx.refused('a signal', setup.signal ? `the signal ${ctx.session.masks.evidence(name.slice(0, 32))} is not a signal name` : 'a signal before the channel runs a program is refused');
    reject?.();
  });
  for (const ev of ['x11', 'auth-agent'] as const) {
    s.on(ev, (_a: unknown, reject?: () => void) => {
      const what = ev === 'auth-agent' ? 'agent forwarding' : 'X11 forwarding';
      const notPermitted = (ev === 'auth-agent' && !ctx.permits.agentForwarding) || (ev === 'x11' && !ctx.permits.x11Forwarding);
      ctx.refused(what, notPermitted ? `${what} is not permitted by the client certificate` : `${what} ${NOT_YET}`);
      notes.push(`vigil: ${what} is refused by this Vigil version; the command runs without it\n`);
      reject?.();
    });
  }
}
