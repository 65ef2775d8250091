/**
 * One `exec` request on a session channel: decide through the pipeline (the command and the decision are
 * recorded and made durable before anything reaches the target), then refuse it (exit status 1, a stderr
 * line saying why), hold it for approval (the exec request reaches the target only once approved), or
 * forward it and stream stdout/stderr back — masked across chunks, and recorded as `output` events of its channel.
 */
import type { Client, ClientChannel, ServerChannel } from 'ssh2';
import { describeError } from '../../../shared/errors.ts';
import { maskEvidenceText } from '../../../shared/pan/index.ts';
import type { PipelineSession } from '../../pipeline/session.ts';
import { execFacts, execRefusal } from './exec-facts.ts';
import { ptyEvidence, ptyOptions, type ChannelSetup } from './pty-requests.ts';
import { channelEnd, type Exit } from './channel-end.ts';
import { maskedRelay, TypedKeys } from './masked-relay.ts';
import { StreamMasker } from '../../pipeline/stream-masker.ts';
import { detectScp, type ScpServer } from './scp-command.ts';
import { startScpRelay } from './scp-channel.ts';

export interface ExecContext {
  session: PipelineSession;
  /** The target connection, or why there is none (no grant, target unreachable, host key mismatch). */
  upstream(): Promise<{ ok: true; client: Client } | { ok: false; rule: string; reason: string }>;
  /** Whether the client connection has closed (its session is being sealed: nothing more is decided). */
  gone(): boolean;
  /** Ends the client connection (after a recording failure: fail closed). */
  abort(reason: string): void;
  logger: { warn(o: object, msg: string): void };
  /**
   * The client certificate's force-command (certificate-policy.ts): it runs instead of what the client asked
   * for, as sshd does; both are recorded. Undefined: the client's command runs.
   */
  forceCommand?: string | undefined;
}

type Accept = () => ServerChannel;

/** Channel numbers as recorded: 0, 1, 2… per session; `open` tracks those not closed yet. */
export class ChannelBook {
  private next = 0;
  readonly open = new Map<number, (reason: string) => void>();
  /** When a command last started or ended (Date.now()): what the idle limit counts from. */
  lastActivity = Date.now();
  allocate(): number {
    this.lastActivity = Date.now();
    return this.next++;
  }
}

/**
 * `notes`: lines for the client's stderr about what was refused on this channel before the command.
 * `asked`: what the client asked for when it was not an exec (a shell), for the record under force-command.
 * `setup`: the terminal and environment the client asked for (`ssh -t host cmd`), asked of the target too.
 */
export async function runExec(ctx: ExecContext, book: ChannelBook, accept: Accept, requested: string, notes: readonly string[] = [], asked = requested, setup?: ChannelSetup): Promise<void> {
  const { session } = ctx;
  const command = ctx.forceCommand ?? requested;
  const forced = ctx.forceCommand !== undefined ? { requestedCommand: session.masks.evidence(asked), forcedBy: 'certificate force-command' } : {};
  const channel = book.allocate();
  // Accepted at once: OpenSSH sends its stdin's EOF right after the request, and ssh2 refuses a late accept
  // once the session saw EOF. Accepting runs nothing: stdin stays buffered (within the channel window) until
  // the command is forwarded.
  const stream = accept() as ServerChannel | undefined;
  if (!stream) return; // the client closed the channel already
  for (const n of notes) stream.stderr.write(n);
  const up = await ctx.upstream();
  if (ctx.gone()) return;
  const text = session.masks.evidence(command);
  // One fact per simple command the line would run (through wrappers and nested shells); a line Vigil cannot
  // read, or whose command depends on an expansion, is refused whatever policy says (fail closed).
  const facts = execFacts(command).map((f) => ({ ...f, command: maskEvidenceText(f.command).text }));
  // `scp -t`/`scp -f` (the legacy scp protocol): relayed file by file (scp-relay.ts), or refused.
  const scp = detectScp(command, facts);
  const refusal = up.ok ? (execRefusal(facts) ?? (scp.scp && 'refusal' in scp ? scp.refusal : undefined)) : { rule: up.rule, reason: up.reason };
  const d = session.decide({ kind: 'exec', text, facts, extra: { channel, ...forced }, ...(refusal ? { refusal } : {}) });
  session.recordMasking(d.id);
  session.record({ type: 'channel.open', channel, kind: 'exec', command: text, ...forced, ...(setup?.pty ? { pty: ptyEvidence(setup.pty) } : {}) });
  // What must be recorded before the channel's close (an scp transfer cut off when the connection drops).
  const beforeClose: (() => void)[] = [];
  const end = channelEnd(session, book, channel, stream, () => {
    for (const f of beforeClose) f();
    session.recordMasking(d.id);
  });
  const finish = end.finish;
  const refuse = (message: string, reason: string) => {
    stream.stderr.write(`vigil: ${message}\n`);
    finish({ status: 1, signal: null }, reason);
  };
  book.open.set(channel, (reason) => finish({ status: null, signal: null }, reason));
  try {
    await session.commit();
  } catch (e) {
    ctx.logger.warn({ sessionId: session.id, err: describeError(e) }, 'recording failed; ending the SSH session');
    refuse('the session could not be recorded; Vigil ends it (nothing was run)', 'recording failed');
    ctx.abort('recording failed');
    return;
  }
  const decision = d.decision;
  if (decision.action === 'block') return refuse(`blocked by policy (${decision.rule}): ${maskEvidenceText(decision.reason).text}`, 'blocked');
  if (decision.action === 'require-approval') {
    const outcome = await session.hold(
      d,
      { display: text, exactBytes: Buffer.from(command, 'utf8'), classification: facts.map((f) => ({ class: f.class, command: f.command, tags: f.tags, tables: f.objects })) },
      (info) => stream.stderr.write(`vigil: this command needs approval (${decision.rule}): request ${info.requestId}, expires ${info.expiresAt}\nvigil: ${info.howTo}\n`),
    );
    if (!outcome.approved) return refuse(`not approved (${outcome.kind === 'expired' ? 'expired' : 'denied'}): ${maskEvidenceText(outcome.reason).text}`, outcome.kind === 'expired' ? 'approval expired' : 'approval denied');
    if (end.closed) return; // the client went away while it waited; the pipeline recorded no release
  }
  if (!up.ok) return refuse(up.reason, 'refused');
  forward(ctx, up.client, command, stream, channel, finish, refuse, setup, scp.scp && 'server' in scp ? { server: scp.server, beforeClose } : undefined);
}

function forward(
  ctx: ExecContext,
  target: Client,
  command: string,
  stream: ServerChannel,
  channel: number,
  finish: (exit: Exit, reason?: string) => void,
  refuse: (message: string, reason: string) => void,
  setup?: ChannelSetup,
  scp?: { server: ScpServer; beforeClose: (() => void)[] },
): void {
  const { session } = ctx;
  const options = { ...(setup?.pty ? { pty: ptyOptions(setup.pty) } : {}), ...(setup && Object.keys(setup.env).length ? { env: setup.env } : {}) };
  target.exec(command, options, (err, up: ClientChannel) => {
    if (err) {
      session.record({ type: 'error', kind: 'target', code: 'exec-failed', message: `the target refused the exec request: ${describeError(err)}` });
      return refuse('the target refused the command', 'target refused');
    }
    if (setup) {
      setup.resize = (cols, rows, width, height) => {
        session.record({ type: 'resize', channel, cols, rows });
        up.setWindow(rows, cols, height, width);
      };
      setup.signal = (sig) => {
        session.record({ type: 'notice', kind: 'signal', channel, signal: sig });
        up.signal(sig);
      };
    }
    let exit: Exit = { status: null, signal: null };
    up.on('exit', (code: number | null, signal?: string, dump?: boolean, desc?: string) => {
      exit = code !== null && code !== undefined ? { status: code, signal: null } : { status: null, signal: (signal ?? '').replace(/^SIG/, '') || null, coreDumped: !!dump, message: desc ?? '' };
    });
    if (scp) {
      const flush = maskedRelay(session, channel, up.stderr, stream.stderr, 'stderr');
      const relay = startScpRelay(ctx, target, scp.server, stream, up, channel);
      scp.beforeClose.push(() => relay.abort('the channel closed before the file was complete'));
      up.on('close', () => {
        flush();
        void relay.done.then((stopped) => finish(stopped ? { status: 1, signal: null } : exit, stopped));
      });
      stream.on('close', () => up.close());
      return;
    }
    const flushes: (() => void)[] = [];
    // Across chunks: a card number split between two reads is masked too (stream-masker.ts).
    const keys = setup?.pty ? new TypedKeys() : undefined;
    flushes.push(maskedRelay(session, channel, up, stream, 'stdout', undefined, keys), maskedRelay(session, channel, up.stderr, stream.stderr, 'stderr'));
    // The recording of stdin is masked across reads too: a card number sent in two packets is not stored in clear.
    const stdin = new StreamMasker((b, context) => session.masks.streamBytes(b, context));
    const recordInput = (masked: Uint8Array) => {
      if (masked.length) session.record({ type: 'input', channel, stream: setup?.pty ? 'pty' : 'stdin', data: masked });
    };
    stream.on('data', (chunk: Buffer) => {
      recordInput(stdin.push(chunk));
      keys?.typed(chunk);
      up.write(chunk);
    });
    flushes.push(() => recordInput(stdin.end()));
    stream.on('end', () => {
      recordInput(stdin.end());
      up.end();
    });
    stream.on('close', () => up.close());
    up.on('close', () => {
      for (const f of flushes) f();
      finish(exit);
    });
  });
}
