/**
 * `direct-tcpip` channels (`ssh -L`, `ssh -W`, ProxyJump through Vigil): the client asks the gateway to open a
 * TCP connection to host:port; Vigil asks the target's sshd to open it (`forwardOut`), so the destination is
 * reached — and its name resolved — from the target host, exactly as a direct `ssh -L` to that host would.
 *
 * Two gates, both must pass: the policy's `ssh.forwarding.allow` list (host:port globs, default empty: no
 * forwarding at all) is the wall, then the neutral rules decide the `forward` command like any other (class
 * `forward`, object `host:port`), so a rule can block or hold a destination inside the wall. The decision is
 * durable before the target is asked. Forwarded bytes are counted, not inspected: they are neither masked nor
 * recorded (docs/ssh-gateway.md, "Port forwarding"), which is why the default is deny.
 */
import type { Channel, Client, ServerChannel } from 'ssh2';
import { describeError } from '../../../shared/errors.ts';
import { maskEvidenceText } from '../../../shared/pan/index.ts';
import { globMatch } from '../../policy/glob.ts';
import type { ExecContext, ChannelBook } from './exec-channel.ts';
import { sshPolicyOf } from './policy-config.ts';

export interface DirectTcpipInfo {
  destIP: string;
  destPort: number;
  srcIP: string;
  srcPort: number;
}

export interface ForwardContext extends ExecContext {
  book: ChannelBook;
}

/** host:port as policy matches it: host names case-insensitive, IPv6 literals in brackets. */
export function forwardDestination(host: string, port: number): string {
  const h = host.toLowerCase();
  return `${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** Whether `ssh.forwarding.allow` lists the destination (globs on the whole `host:port`, case-insensitive). */
export function forwardAllowed(allow: readonly string[], destination: string): boolean {
  return allow.some((p) => globMatch(p.toLowerCase(), destination));
}

export async function runDirectTcpip(ctx: ForwardContext, accept: () => ServerChannel, reject: () => void, info: DirectTcpipInfo): Promise<void> {
  const { session } = ctx;
  const destination = forwardDestination(info.destIP, info.destPort);
  const up = await ctx.upstream();
  if (ctx.gone()) return reject();
  const shown = maskEvidenceText(destination).text;
  const allow = sshPolicyOf(session.policy?.config).forwarding.allow;
  const refusal = !up.ok
    ? { rule: up.rule, reason: up.reason }
    : forwardAllowed(allow, destination)
      ? undefined
      : { rule: 'ssh.forwarding', reason: `port forwarding to ${shown} is not in the policy's ssh.forwarding.allow list` };
  const channel = ctx.book.allocate();
  const origin = `${info.srcIP}:${info.srcPort}`;
  const d = session.decide({
    kind: 'forward',
    text: `direct-tcpip ${shown}`,
    facts: [{ class: 'forward', command: 'direct-tcpip', tags: [], objects: [shown], attributes: { host: maskEvidenceText(info.destIP.toLowerCase()).text, port: String(info.destPort) } }],
    extra: { channel },
    ...(refusal ? { refusal } : {}),
    // A channel open cannot wait minutes: OpenSSH gives up on it. Forwards are allowed or refused.
    unholdable: 'a port forward cannot wait for approval (the client times the channel open out); allow the destination or block it',
  });
  session.recordMasking(d.id);
  try {
    await session.commit();
  } catch (e) {
    ctx.logger.warn({ sessionId: session.id, err: describeError(e) }, 'recording failed; ending the SSH session');
    reject();
    ctx.abort('recording failed');
    return;
  }
  if (d.decision.action !== 'allow' || !up.ok) return reject();
  open(ctx, up.client, info, { channel, host: maskEvidenceText(info.destIP.toLowerCase()).text, port: info.destPort, origin: maskEvidenceText(origin).text }, accept, reject);
}

function open(ctx: ForwardContext, target: Client, info: DirectTcpipInfo, rec: { channel: number; host: string; port: number; origin: string }, accept: () => ServerChannel, reject: () => void): void {
  const { session, book } = ctx;
  target.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (err, remote: Channel) => {
    if (err || ctx.gone()) {
      session.record({ type: 'error', kind: 'target', code: 'forward-failed', message: `the target could not open ${rec.host}:${rec.port}: ${maskEvidenceText(describeError(err ?? 'client gone')).text}` });
      remote?.close();
      return reject();
    }
    const local = accept() as ServerChannel | undefined;
    if (!local) return remote.close();
    session.record({ type: 'forward.open', ...rec });
    let bytesIn = 0;
    let bytesOut = 0;
    let closed = false;
    const finish = (reason?: string) => {
      if (closed) return;
      closed = true;
      book.open.delete(rec.channel);
      book.lastActivity = Date.now();
      session.record({ type: 'forward.close', channel: rec.channel, bytesIn, bytesOut, ...(reason ? { reason } : {}) });
      remote.close();
      local.close();
    };
    book.open.set(rec.channel, (reason) => finish(reason));
    // Backpressure both ways: a slow reader on one end pauses the other instead of buffering without bound.
    const pipe = (from: Channel | ServerChannel, to: Channel | ServerChannel, count: (n: number) => void) => {
      from.on('data', (b: Buffer) => {
        count(b.length);
        if (!to.write(b)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => to.end());
    };
    pipe(local, remote, (n) => (bytesOut += n));
    pipe(remote, local, (n) => (bytesIn += n));
    remote.on('close', () => finish());
    local.on('close', () => finish());
    remote.on('error', () => finish('target channel error'));
    local.on('error', () => finish('client channel error'));
  });
}
