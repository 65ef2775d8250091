/**
 * One `shell` request on a session channel: an interactive shell on the target, with the terminal and the
 * allowed environment the client asked for. Output is masked across reads (stream-masker.ts) for the client
 * and the record (`output` events); input goes through the line gate (shell-line-gate.ts): recorded, except
 * what is typed at a password prompt, and each typed line decided before its Enter reaches the target.
 * `window-change` and `signal` are forwarded and recorded; the target's exit status or signal is passed on.
 * `ssh.shell.allow: false` in policy refuses shells.
 */
import type { Client, ClientChannel, ServerChannel } from 'ssh2';
import { describeError } from '../../../shared/errors.ts';
import type { ChannelBook, ExecContext } from './exec-channel.ts';
import { sshPolicyOf } from './policy-config.ts';
import { ptyEvidence, ptyOptions, type ChannelSetup } from './pty-requests.ts';
import { ShellLineGate } from './shell-line-gate.ts';
import { channelEnd, type Exit } from './channel-end.ts';
import { maskedRelay, TypedKeys } from './masked-relay.ts';

type Accept = () => ServerChannel;

export type ShellContext = ExecContext & { failed(e: unknown): void };

export async function runShell(ctx: ShellContext, book: ChannelBook, accept: Accept, setup: ChannelSetup, notes: readonly string[]): Promise<void> {
  const { session } = ctx;
  const channel = book.allocate();
  const stream = accept() as ServerChannel | undefined;
  if (!stream) return;
  const nl = setup.pty ? '\r\n' : '\n';
  for (const n of notes) stream.stderr.write(n.replace(/\n/g, nl));
  const up = await ctx.upstream();
  if (ctx.gone()) return;
  session.record({ type: 'channel.open', channel, kind: 'shell', ...(setup.pty ? { pty: ptyEvidence(setup.pty) } : {}) });
  const end = channelEnd(session, book, channel, stream);
  const finish = end.finish;
  const refuse = (message: string, reason: string) => {
    stream.stderr.write(`vigil: ${message}${nl}`);
    finish({ status: 1, signal: null }, reason);
  };
  book.open.set(channel, (reason) => finish({ status: null, signal: null }, reason));
  if (!up.ok) {
    session.record({ type: 'notice', kind: 'request-refused', request: 'an interactive shell', message: up.reason });
    return refuse(up.reason, 'refused');
  }
  if (!sshPolicyOf(session.policy?.config).shell.allow) {
    const message = 'interactive shells are not allowed by policy (ssh.shell.allow: false); run commands with exec: ssh host COMMAND';
    session.record({ type: 'notice', kind: 'request-refused', request: 'an interactive shell', message });
    return refuse(message, 'refused');
  }
  // The channel's opening is durable before the target's shell starts (record, then forward).
  try {
    await session.commit();
  } catch (e) {
    ctx.logger.warn({ sessionId: session.id, err: describeError(e) }, 'recording failed; ending the SSH session');
    refuse('the session could not be recorded; Vigil ends it', 'recording failed');
    ctx.abort('recording failed');
    return;
  }
  if (end.closed) return;
  open(ctx, up.client, stream, channel, setup, () => end.closed, finish, refuse);
}

function open(ctx: ShellContext, target: Client, stream: ServerChannel, channel: number, setup: ChannelSetup, isClosed: () => boolean, finish: (exit: Exit, reason?: string) => void, refuse: (m: string, r: string) => void): void {
  const { session } = ctx;
  const options = Object.keys(setup.env).length ? { env: setup.env } : {};
  target.shell(setup.pty ? ptyOptions(setup.pty) : false, options, (err, up: ClientChannel) => {
    if (err) {
      session.record({ type: 'error', kind: 'target', code: 'shell-failed', message: `the target refused the shell request: ${describeError(err)}` });
      return refuse('the target refused the shell', 'target refused');
    }
    if (isClosed()) return void up.close();
    const name = setup.pty ? 'pty' : 'stdout';
    const gate = new ShellLineGate({
      session,
      channel,
      stream: setup.pty ? 'pty' : 'stdin',
      toTarget: (b) => up.write(b),
      toClient: (t) => stream.write(setup.pty ? t : t.replace(/\r\n/g, '\n')),
      commit: async () => {
        try {
          await session.commit();
          return true;
        } catch (e) {
          ctx.logger.warn({ sessionId: session.id, err: describeError(e) }, 'recording failed; ending the SSH session');
          refuse('the session could not be recorded; Vigil ends it (the line was not run)', 'recording failed');
          ctx.abort('recording failed');
          return false;
        }
      },
      open: () => !isClosed(),
    });
    setup.resize = (cols, rows, width, height) => {
      session.record({ type: 'resize', channel, cols, rows });
      up.setWindow(rows, cols, height, width);
    };
    setup.signal = (sig) => {
      session.record({ type: 'notice', kind: 'signal', channel, signal: sig });
      up.signal(sig);
    };
    let exit: Exit = { status: null, signal: null };
    up.on('exit', (code: number | null, signal?: string, dump?: boolean, desc?: string) => {
      exit = code !== null && code !== undefined ? { status: code, signal: null } : { status: null, signal: (signal ?? '').replace(/^SIG/, '') || null, coreDumped: !!dump, message: desc ?? '' };
    });
    const flushes: (() => void)[] = [];
    const keys = new TypedKeys();
    flushes.push(maskedRelay(session, channel, up, stream, name, (chunk) => gate.output(chunk), keys), maskedRelay(session, channel, up.stderr, stream.stderr, 'stderr'));
    stream.on('data', (chunk: Buffer) => {
      // A held line queues what follows; stop reading the client meanwhile (its window fills, it waits).
      stream.pause();
      keys.typed(chunk);
      void gate.input(chunk).then(
        () => stream.resume(),
        (e) => ctx.failed(e),
      );
    });
    stream.on('end', () => up.end());
    stream.on('close', () => up.close());
    up.on('close', () => {
      for (const f of flushes) f();
      gate.end();
      setup.resize = undefined;
      setup.signal = undefined;
      finish(exit);
    });
  });
}
